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

@Suite struct ValidateSubcommandTests {
  private static let files: [String: String] = [
    "good.yaml": """
    job_name: a
    device_type: qemu
    visibility: public
    timeouts: {job: {minutes: 5}}
    actions: [{boot: {method: qemu}}]
    """,
    "bad.yaml": "job_name: a\nactions: []\n",
  ]

  private func read(_ path: String) throws(JobFileError) -> String {
    guard let text = Self.files[path] else { throw .notFound(path: path) }
    return text
  }

  @Test func everyFileIsCheckedAndOneBadFileFailsTheCall() {
    let report = JobDefinitionReport.check(paths: ["good.yaml", "bad.yaml", "gone.yaml"], read: read)
    #expect(!report.allValid)
    #expect(report.outcomes.count == 3)
    #expect(report.outcomes.first == .valid(path: "good.yaml"))
    #expect(report.outcomes.last == .unreadable(.notFound(path: "gone.yaml")))
    #expect(report.diagnostics.allSatisfy { $0.file == "bad.yaml" })
    #expect(report.diagnostics.count == 4)
    let output = report.rendered(colours: false)
    #expect(output.hasPrefix("good.yaml: valid\nbad.yaml:1:1: missing required key"))
    #expect(output.contains("bad.yaml:2:10: 'actions' is empty"))
    #expect(output.contains("bad.yaml: invalid (4 problems)\ngone.yaml: no such file"))
  }

  @Test func onlyValidFilesPass() {
    #expect(JobDefinitionReport.check(paths: ["good.yaml", "good.yaml"], read: read).allValid)
    #expect(!JobDefinitionReport.check(paths: ["gone.yaml"], read: read).allValid)
  }

  @Test func readingAMissingFileOrADirectoryIsAClearError() {
    #expect(throws: JobFileError.notFound(path: "/nonexistent/job.yaml")) {
      try JobFileError.read("/nonexistent/job.yaml")
    }
    #expect(throws: JobFileError.isDirectory(path: "/")) { try JobFileError.read("/") }
  }

  @Test func helpListsWhatIsChecked() {
    let help = ValidateSubcommand.helpMessage(columns: 200)
    for topic in [
      "job_name", "device_type", "timeouts", "visibility", "actions", "{{ job.DEVICE_TYPE }}", "Exit status",
    ] {
      #expect(help.contains(topic), "help should mention \(topic)")
    }
  }

  @Test func atLeastOneFileIsRequired() {
    #expect(throws: (any Error).self) { try ValidateSubcommand.parse([]) }
  }

  @Test func theBuiltBinaryValidatesTheExamplesWithTheRightExitStatus() async throws {
    let binary = try #require(Self.builtBinary(), "build lava-runner first (swift build)")
    let good = Examples.path("lava-job.yaml")
    let bad = Examples.path("invalid-lava-job.yaml")

    let valid = try await Self.run(binary, ["validate", good])
    #expect(valid.status == 0)
    #expect(valid.output == "\(good): valid\n")

    let mixed = try await Self.run(binary, ["validate", good, bad, "missing.yaml"])
    #expect(mixed.status == 1)
    #expect(mixed.output.contains("\(good): valid"))
    #expect(mixed.output.contains("\(bad):3:13: visibility 'friends' is not known"))
    #expect(mixed.output.contains("missing.yaml: no such file"))
    #expect(!mixed.output.contains("\u{1B}["), "no colours when stdout is not a terminal")
    let problemLines = mixed.output.split(separator: "\n").filter { $0.hasPrefix("\(bad):") }
    #expect(problemLines.count >= 5)
  }

  /// Issue 11: each of these once crashed the process (findings 1 and 2) or misled (9, 13).
  @Test func theBuiltBinaryReportsHostileDefinitionsAndExitsCleanly() async throws {
    let binary = try #require(Self.builtBinary(), "build lava-runner first (swift build)")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let deep = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
    var laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
      laughs +=
        "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
        + "]\n"
    }
    let cases: [(name: String, text: String, expected: String)] = [
      ("sexagesimal.yaml", "priority: 153722867280912931:0\n", ":1:11: 'priority' must be high, medium, low"),
      ("deep.yaml", deep, ":1:257: lists and mappings are nested more than 256 levels deep"),
      ("laughs.yaml", laughs, "values, lists and mappings by here (each alias counted"),
      ("days.yaml", "timeouts: {job: {days: 9223372036854775807}}\n", "longer than LAVA can hold"),
      ("osc.yaml", "job_name: x\u{1B}]0;pwned\u{07}\n", "job_name: x\\x1B]0;pwned\\x07"),
    ]
    for (name, text, expected) in cases {
      let file = directory.appendingPathComponent(name)
      try Data(text.utf8).write(to: file)
      let result = try await Self.run(binary, ["validate", file.path])
      #expect(result.reason == .exit, "\(name) must not kill the process")
      #expect(result.status == 1, "\(name)")
      #expect(result.output.contains(expected), "\(name): \(result.output.prefix(2_000))")
      #expect(!result.output.contains("\u{07}"), "\(name)")
      #expect(result.output.count < 10_000, "\(name): the output stays short")
    }
  }

  /// lava-runner sits next to the test bundle in the build products directory.
  private static func builtBinary() -> URL? {
    let candidates = [
      Bundle.main.executableURL?.deletingLastPathComponent(),
      Bundle.main.bundleURL.deletingLastPathComponent(),
      Bundle.main.bundleURL,
    ]
    return candidates.compactMap { $0?.appendingPathComponent("lava-runner") }
      .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }

  private static func run(
    _ binary: URL, _ arguments: [String]
  ) async throws -> (status: Int32, output: String, reason: Process.TerminationReason) {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    // Waited for off the cooperative pool: a blocked pool thread stalls every other test.
    let data = try await offPool {
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      return data
    }
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), process.terminationReason)
  }
}
