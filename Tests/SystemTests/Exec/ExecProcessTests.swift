import Foundation
import Protocols
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// `lava-runner exec` as a user runs it: the built binary in a working directory of its own.
struct ExecRun {
  let status: Int32
  let stdout: String
  let stderr: String

  /// Runs `lava-runner exec ARGUMENTS` in `directory` with `environment` added to a clean one.
  /// `whileRunning` gets the process and its output so far (e.g. to send SIGINT).
  static func run(
    _ arguments: [String], in directory: URL, environment: [String: String],
    timeout: Duration = .seconds(240),
    whileRunning: (Process, () -> String) async throws -> Void = { _, _ in }
  ) async throws -> ExecRun {
    let process = Process()
    process.executableURL = BuiltRunner.url
    process.arguments = ["exec"] + arguments
    process.currentDirectoryURL = directory
    var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    env.merge(environment) { $1 }
    process.environment = env
    let out = directory.appendingPathComponent(".exec-\(UUID()).out")
    let err = directory.appendingPathComponent(".exec-\(UUID()).err")
    for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let read = { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
    try await whileRunning(process, read)
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while process.isRunning && clock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    if process.isRunning {
      process.interrupt()
      process.waitUntilExit()
      Issue.record("lava-runner exec did not end within \(timeout): \(read().suffix(2000))")
    }
    process.waitUntilExit()
    return ExecRun(
      status: process.terminationStatus, stdout: read(),
      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
  }

  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("exec-process-\(UUID())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

/// What needs no LAVA server: the command line and the files.
struct ExecProcessTests {
  @Test func aMissingFileFailsAsAScriptFailureNamingIt() async throws {
    let directory = try ExecRun.temporaryDirectory()
    let run = try await ExecRun.run(
      ["submit", "missing.yaml"], in: directory,
      environment: ["LAVA_URL": "http://127.0.0.1:9/", "LAVA_TOKEN": "exec-secret-token-value"])
    #expect(run.status == 1)
    #expect(run.stdout.hasPrefix("$ submit missing.yaml\n"), "\(run.stdout)")
    let last = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
    #expect(
      last.hasPrefix("ERROR: Job failed (script_failure): submit: missing.yaml is not in "), "\(run.stdout)")
    #expect(!run.stdout.contains("\u{1B}["), "colours on a non-terminal")
    #expect(!run.stdout.contains("section_"))
    #expect(!run.stdout.contains("exec-secret-token-value"))
  }

  @Test func aMissingLAVAURLFailsSayingSo() async throws {
    let directory = try ExecRun.temporaryDirectory()
    try Data("job_name: x\n".utf8).write(to: directory.appendingPathComponent("job.yaml"))
    let run = try await ExecRun.run(
      ["submit", "job.yaml"], in: directory, environment: ["LAVA_TOKEN": "abcdefgh123"])
    #expect(run.status == 1)
    // The message may span lines: the verdict is what ends the output.
    let verdict = try #require(run.stdout.range(of: "ERROR: Job failed (script_failure): "), "\(run.stdout)")
    #expect(run.stdout[verdict.upperBound...].contains("LAVA_URL is not set"), "\(run.stdout)")
  }

  @Test func aPathOutsideTheWorkingDirectoryIsRefused() async throws {
    let directory = try ExecRun.temporaryDirectory()
    let run = try await ExecRun.run(
      ["submit", "../job.yaml"], in: directory,
      environment: ["LAVA_URL": "http://127.0.0.1:9/", "LAVA_TOKEN": "abcdefgh123"])
    #expect(run.status == 1)
    #expect(run.stdout.contains("'../job.yaml' is not a relative path"), "\(run.stdout)")
  }

  @Test func anUnknownCommandExitsTwoWithASuggestion() async throws {
    let run = try await ExecRun.run(
      ["sumbit", "job.yaml"], in: try ExecRun.temporaryDirectory(), environment: [:])
    #expect(run.status == 2)
    #expect(run.stderr.contains("unknown command 'sumbit'; did you mean 'submit'?"), "\(run.stderr)")
    #expect(run.stdout.isEmpty)
  }

  @Test func badArgumentsExitTwoWithTheCommandsUsage() async throws {
    let run = try await ExecRun.run(["submit"], in: try ExecRun.temporaryDirectory(), environment: [:])
    #expect(run.status == 2)
    #expect(run.stderr.contains("submit: "), "\(run.stderr)")
    #expect(run.stderr.contains("Usage: submit"), "\(run.stderr)")
  }

  @Test func theCommandsOwnHelpPassesThrough() async throws {
    let run = try await ExecRun.run(
      ["submit", "--help"], in: try ExecRun.temporaryDirectory(), environment: [:])
    #expect(run.status == 0)
    #expect(run.stdout.contains("LAVA_CANCELLATION"), "\(run.stdout)")
  }

  @Test func execsOwnHelpNamesTheMaskingRule() async throws {
    let run = try await ExecRun.run(["--help"], in: try ExecRun.temporaryDirectory(), environment: [:])
    #expect(run.status == 0)
    #expect(run.stdout.contains("TOKEN, PASSWORD or SECRET"), "\(run.stdout)")
  }

  @Test func aMisspeltExecOptionExitsTwo() async throws {
    let run = try await ExecRun.run(
      ["--artifact-dir", "x", "submit", "a.yaml"], in: try ExecRun.temporaryDirectory(), environment: [:])
    #expect(run.status == 2)
    #expect(run.stderr.contains("unknown option '--artifact-dir' for exec"), "\(run.stderr)")
  }

  @Test func execsOwnOptionsComeBeforeTheCommand() async throws {
    let directory = try ExecRun.temporaryDirectory()
    let run = try await ExecRun.run(
      ["--artifacts-dir", "out", "--var", "LAVA_TOKEN=abcdefgh123", "submit", "missing.yaml"], in: directory,
      environment: ["LAVA_URL": "http://127.0.0.1:9/"])
    #expect(run.status == 1)
    #expect(run.stdout.contains("missing.yaml is not in"), "\(run.stdout)")
  }
}

/// `exec submit` against the real LAVA server that `scripts/lava-test-server` runs, with real
/// qemu jobs.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct ExecLAVATests {
  let server: LAVATestServer
  let fixtures: String

  init() throws {
    server = try LAVATestServer.fromEnvironment()
    fixtures = try #require(
      ProcessInfo.processInfo.environment["LAVA_TEST_FIXTURES"], "LAVA_TEST_FIXTURES is not set")
  }

  /// A working directory holding the fixture `name`.
  func directory(with name: String) throws -> URL {
    let directory = try ExecRun.temporaryDirectory()
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fixtures/lava/\(name)")
    try FileManager.default.copyItem(at: fixture, to: directory.appendingPathComponent(name))
    return directory
  }

  var environment: [String: String] {
    ["LAVA_URL": server.url.absoluteString, "LAVA_TOKEN": server.token, "LAVA_TEST_FIXTURES": fixtures]
  }

  @Test func aPassingQemuJobExitsZeroWithItsLogAndResultsInTheArtifactsFolder() async throws {
    let directory = try directory(with: "qemu-pass.yaml")
    let run = try await ExecRun.run(["submit", "qemu-pass.yaml"], in: directory, environment: environment)
    #expect(run.status == 0, "\(run.stdout.suffix(3000))\n\(run.stderr)")
    #expect(run.stdout.contains("/scheduler/job/"))
    #expect(run.stdout.contains("lava-runner-pass-marker"), "the LAVA log is not printed")
    #expect(run.stdout.hasSuffix("Job succeeded\n"))
    #expect(!run.stdout.contains(server.token) && !run.stderr.contains(server.token), "LAVA_TOKEN printed")
    let artifacts = directory.appendingPathComponent("lava-artifacts")
    let names = try FileManager.default.contentsOfDirectory(atPath: artifacts.path).sorted()
    let log = try #require(names.first { $0.hasSuffix("_log.yaml") }, "\(names)")
    let id = log.dropLast("_log.yaml".count)
    #expect(names == ["\(id)_junit.xml", log, "lava-report.json", "lava.env"])
    let report = try String(contentsOf: artifacts.appendingPathComponent("lava-report.json"), encoding: .utf8)
    let object = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any]
    #expect(object?["schema_version"] as? Int == 1, "\(report.prefix(500))")
    #expect(!report.contains(server.token), "LAVA_TOKEN in lava-report.json")
    let dotenv = try String(contentsOf: artifacts.appendingPathComponent("lava.env"), encoding: .utf8)
    #expect(dotenv.contains("LAVA_JOB_ID=\(id)\n"), "\(dotenv)")
    #expect(run.stdout.contains("  \(log)\n"), "the artifacts are not listed")
    let junit = try String(contentsOf: artifacts.appendingPathComponent("\(id)_junit.xml"), encoding: .utf8)
    #expect(junit.contains("<testsuite"))
    #expect(
      try String(contentsOf: artifacts.appendingPathComponent(log), encoding: .utf8).contains("\"lvl\""))
  }

  @Test func aFailingTestCaseExitsNonZeroNamingTheCase() async throws {
    let directory = try directory(with: "qemu-fail.yaml")
    let run = try await ExecRun.run(
      ["--artifacts-dir", "out", "submit", "qemu-fail.yaml"], in: directory, environment: environment)
    #expect(run.status == 1, "\(run.stdout.suffix(3000))\n\(run.stderr)")
    let verdict = try #require(
      run.stdout.range(of: "ERROR: Job failed (script_failure): ", options: .backwards),
      "\(run.stdout.suffix(2000))")
    #expect(run.stdout[verdict.upperBound...].contains("must-fail"), "\(run.stdout.suffix(2000))")
    #expect(!run.stdout.contains(server.token) && !run.stderr.contains(server.token), "LAVA_TOKEN printed")
    let names = try FileManager.default.contentsOfDirectory(
      atPath: directory.appendingPathComponent("out").path)
    #expect(names.contains { $0.hasSuffix("_log.yaml") }, "\(names)")
  }

  @Test func ctrlCCancelsTheLAVAJobAndExits130() async throws {
    let directory = try directory(with: "qemu-long.yaml")
    var lavaID: Int64?
    let run = try await ExecRun.run(["submit", "qemu-long.yaml"], in: directory, environment: environment) {
      process, output in
      let clock = ContinuousClock()
      let deadline = clock.now + .seconds(120)
      while lavaID == nil, process.isRunning, clock.now < deadline {
        // Once the job runs, so that LAVA has something to cancel.
        if output().contains("is running on"),
          let range = output().range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression)
        {
          lavaID = Int64(output()[range].split(separator: "/").last!)
        }
        try await Task.sleep(for: .milliseconds(200))
      }
      process.interrupt()
    }
    let id = try #require(lavaID, "exec never printed the LAVA job's URL: \(run.stdout.suffix(2000))")
    #expect(run.status == 130, "\(run.stdout.suffix(2000))\n\(run.stderr)")
    #expect(run.stdout.hasSuffix("ERROR: Job failed (script_failure): interrupted (Ctrl-C)\n"))
    #expect(run.stdout.contains("canceled LAVA job \(id)"), "\(run.stdout.suffix(2000))")
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let client = try LAVAConnections(http: http, metrics: RunnerMetrics()).server(
      url: server.url, token: server.token)
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(60)
    var health = LAVAJobHealth.unknown
    while clock.now < deadline {
      let detail = try await client.job(id)
      if detail.state == .finished {
        health = detail.health
        break
      }
      try await Task.sleep(for: .milliseconds(500))
    }
    #expect(health == .canceled)
  }
}
