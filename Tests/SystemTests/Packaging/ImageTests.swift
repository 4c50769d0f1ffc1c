import Foundation
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// The container image `make image` builds (LAVA_RUNNER_TEST_IMAGE, set by scripts/run-tests),
/// run through scripts/image-run as a container runtime runs it: as the image's user, root file
/// system read-only, a fresh /tmp, host network.
enum ImageUnderTest {
  static var name: String? {
    ProcessInfo.processInfo.environment["LAVA_RUNNER_TEST_IMAGE"].flatMap { $0.isEmpty ? nil : $0 }
  }

  static let root = PackagingCheckTests.root

  /// Starts the image with `arguments` after its entrypoint, passing only `environment`.
  static func start(_ arguments: [String], environment: [String: String]) throws -> (Process, output: URL) {
    let image = try #require(name, "LAVA_RUNNER_TEST_IMAGE is not set")
    let process = Process()
    process.executableURL = root.appendingPathComponent("scripts/image-run")
    process.arguments = environment.keys.sorted().flatMap { ["-e", $0] } + [image] + arguments
    var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    env.merge(environment) { $1 }
    process.environment = env
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "lava-runner-image-\(UUID()).log")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return (process, output)
  }

  /// The static-stdlib lava-runner scripts/run-tests builds for the packaging checks.
  static var staticBinary: URL { root.appendingPathComponent(".build/packaging-debug/debug/lava-runner") }

  /// Runs a script of the repository (or a program) to its end; status and output (stdout and
  /// stderr).
  static func script(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL =
      name.hasPrefix("/") ? URL(fileURLWithPath: name) : root.appendingPathComponent("scripts/\(name)")
    process.arguments = arguments
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("script-\(UUID()).log")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: output) }
    let handle = try FileHandle(forWritingTo: output)
    defer { try? handle.close() }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
  }
}

/// Required, not skipped, once run-tests names the image: a missing image or LAVA server fails.
@Suite(.serialized, .enabled(if: ImageUnderTest.name != nil))
struct ImageTests {
  @Test func theImageRunsAPassingQemuJobWithItsLogAndArtifactsAsTheHostBinaryDoes() async throws {
    let image = try #require(ImageUnderTest.name)
    let inspected = try ImageUnderTest.script("/usr/bin/buildah", ["inspect", "--type", "image", image])
    try #require(inspected.status == 0, "no image \(image): make image builds it\n\(inspected.output)")
    #expect(
      LAVATestServer.isConfigured, "the image test needs the LAVA test server (scripts/lava-test-server)")
    let endToEnd = try LAVAEndToEndTests()
    try await endToEnd.withRunner(start: { try ImageUnderTest.start($0, environment: $1) }) { gitlab in
      try await endToEnd.expectPassingQemuJob(gitlab)
    }
  }

  /// The image checks against copies of the Dockerfile with one mistake each in the runtime
  /// stage: a library package left out (libyaml) and the user changed to root. Both images
  /// build; neither may pass scripts/check-image.
  @Test func aRuntimeStageWithoutALibraryOrAsRootFailsTheImageCheck() throws {
    let dockerfile = try String(
      contentsOf: ImageUnderTest.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
    let install = "ca-certificates libcurl4 libyaml-0-2 zlib1g"
    #expect(dockerfile.contains(install), "the runtime install line changed: update this test")
    #expect(dockerfile.contains("\nUSER 10001:10001\n"), "the USER line changed: update this test")
    let variants = [
      ("no-libyaml", dockerfile.replacingOccurrences(of: install, with: "ca-certificates libcurl4 zlib1g")),
      ("root", dockerfile.replacingOccurrences(of: "\nUSER 10001:10001\n", with: "\nUSER root\n")),
    ]
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("image-variants-\(UUID())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    for (name, text) in variants {
      let file = scratch.appendingPathComponent("Dockerfile.\(name)")
      try text.write(to: file, atomically: true, encoding: .utf8)
      let tag = "localhost/lava-runner:broken-\(name)"
      let built = try ImageUnderTest.script(
        "build-image",
        ["--dockerfile", file.path, "--tag", tag, "--binary", ImageUnderTest.staticBinary.path])
      #expect(built.status == 0, "the \(name) variant did not build:\n\(built.output)")
      let checked = try ImageUnderTest.script("check-image", [tag])
      _ = try? ImageUnderTest.script("/usr/bin/buildah", ["rmi", tag])
      #expect(checked.status != 0, "check-image passed the \(name) variant:\n\(checked.output)")
      switch name {
      case "no-libyaml":
        #expect(
          checked.output.contains("libraries missing in the image: libyaml-0.so.2"), "\(checked.output)")
      default:
        #expect(checked.output.contains("the image's USER is 'root', not 10001"), "\(checked.output)")
        #expect(checked.output.contains("the image does not run as 10001:10001"), "\(checked.output)")
      }
    }
  }
}
