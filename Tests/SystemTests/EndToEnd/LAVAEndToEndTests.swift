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

/// The `lava-runner` binary against the strict fake GitLab and the real LAVA server that
/// `scripts/lava-test-server` runs, with real qemu jobs.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAEndToEndTests {
  let server: LAVATestServer
  let fixtures: String
  static let runnerToken = "glrt-lava-e2e-runner-token-0123"

  init() throws {
    server = try LAVATestServer.fromEnvironment()
    fixtures = try #require(
      ProcessInfo.processInfo.environment["LAVA_TEST_FIXTURES"], "LAVA_TEST_FIXTURES is not set")
  }

  static func fixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fixtures/lava/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
  }

  /// A job submitting `fixture`; its archive takes `paths`, and `dotenv` adds the
  /// `reports: dotenv: lava.env` entry.
  func lavaJob(
    _ fixture: String, script: [String] = ["submit lava-job.yaml"], paths: [String] = ["*_log.yaml"],
    dotenv: Bool = false
  ) throws -> FakeJob {
    let job = FakeJob(script: script)
      .variable(.init("LAVA_URL", server.url.absoluteString))
      .variable(.init("LAVA_TOKEN", server.token, masked: true))
      .variable(.init("LAVA_TEST_FIXTURES", fixtures))
      .dependency(
        .init(id: 77, name: "prepare", archive: .files(["lava-job.yaml": try Self.fixture(fixture)]))
      )
      .artifact(.init(paths: paths, when: "always"))
      .artifact(.junit(paths: ["*_junit.xml"]))
    return dotenv ? job.artifact(.dotenv(paths: ["lava.env"])) : job
  }

  /// How a runner process is started: the host binary (`BuiltRunner.start`) or the container
  /// image (`ImageUnderTest.start`); arguments, then environment variables to add.
  typealias StartRunner = ([String], [String: String]) throws -> (Process, output: URL)

  /// Runs the binary (or what `start` starts) against a fresh fake GitLab while `body` runs.
  func withRunner(
    start: StartRunner = { try BuiltRunner.start($0, environment: $1) },
    _ body: @Sendable (FakeGitLab) async throws -> Void
  ) async throws {
    try await FakeGitLab.withRunning(
      configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
    ) {
      gitlab in
      await gitlab.addRunnerToken(Self.runnerToken)
      let (process, output) = try start(
        ["run", "--check-interval", "0.2"],
        ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken])
      do {
        try await body(gitlab)
      } catch {
        process.terminate()
        process.waitUntilExit()
        throw error
      }
      process.terminate()
      process.waitUntilExit()
      let log = try String(contentsOf: output, encoding: .utf8)
      #expect(!log.contains(server.token), "the runner's own log shows LAVA_TOKEN")
      #expect(!log.contains(Self.runnerToken))
      #expect(await gitlab.violations == [])
    }
  }

  func expectNoSecrets(_ gitlab: FakeGitLab, _ job: EnqueuedJob) async throws {
    let trace = await gitlab.traceText(of: job.id)
    #expect(!trace.contains(server.token), "the job log shows LAVA_TOKEN")
    for upload in await gitlab.uploads(of: job.id) {
      let contents: [Data] =
        upload.artifactFormat == "zip" ? Array(try upload.zipEntries().values) : [try upload.gunzipped()]
      for data in contents {
        #expect(!String(decoding: data, as: UTF8.self).contains(server.token), "an artifact holds LAVA_TOKEN")
      }
    }
  }

  @Test func aPassingQemuJobSucceedsWithItsLogAndResultsUploaded() async throws {
    try await withRunner { gitlab in try await expectPassingQemuJob(gitlab) }
  }

  /// A qemu job that passes: success, the LAVA job's URL and results in the log, its log and
  /// JUnit uploaded, no secret anywhere.
  func expectPassingQemuJob(_ gitlab: FakeGitLab) async throws {
    let job = await gitlab.enqueue(try lavaJob("qemu-pass.yaml"))
    let result = try await gitlab.result(of: job.id, timeout: .seconds(180))
    let trace = await gitlab.traceText(of: job.id)
    #expect(result.status == .success, "\(trace.suffix(3000))")
    #expect(trace.contains("/scheduler/job/"))
    #expect(trace.contains("lava-test-case") || trace.contains("pass"))
    let uploads = await gitlab.uploads(of: job.id)
    let archive = try #require(uploads.first { $0.artifactType == "archive" })
    let entries = try archive.zipEntries()
    let logName = try #require(entries.keys.first { $0.hasSuffix("_log.yaml") })
    #expect(String(decoding: entries[logName]!, as: UTF8.self).contains("\"lvl\""))
    let junit = try #require(uploads.first { $0.artifactType == "junit" })
    #expect(String(decoding: try junit.gunzipped(), as: UTF8.self).contains("<testsuite"))
    // Offered, but this job's artifacts do not ask for them.
    #expect(entries["lava-report.json"] == nil)
    #expect(!uploads.contains { $0.artifactType == "dotenv" })
    try await expectNoSecrets(gitlab, job)
  }

  @Test func aPassingQemuJobUploadsLAVAReportJSONAndTheDotenvReportItsArtifactsAskFor() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        try lavaJob("qemu-pass.yaml", paths: ["*_log.yaml", "lava-report.json"], dotenv: true))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(180))
      let trace = await gitlab.traceText(of: job.id)
      #expect(result.status == .success, "\(trace.suffix(3000))")
      let uploads = await gitlab.uploads(of: job.id)
      let entries = try #require(uploads.first { $0.artifactType == "archive" }).zipEntries()
      let data = try #require(entries["lava-report.json"], "\(entries.keys.sorted())")
      let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      #expect(report["schema_version"] as? Int == 1)
      #expect(report["passed"] as? Bool == true)
      let attempts = try #require(report["attempts"] as? [[String: Any]])
      #expect(attempts.count == 1)
      let lavaJob = try #require((attempts.first?["jobs"] as? [[String: Any]])?.first)
      let id = try #require(lavaJob["id"] as? Int)
      #expect(trace.contains("LAVA job \(id): "))
      #expect(lavaJob["health"] as? String == "Complete")
      #expect(lavaJob["device_type"] as? String == "qemu")
      #expect((lavaJob["device"] as? String)?.isEmpty == false)
      for field in ["submit_time", "start_time", "end_time"] {
        #expect((lavaJob[field] as? String)?.isEmpty == false, "\(field) missing")
      }
      let actions = try #require(lavaJob["actions"] as? [[String: Any]])
      #expect(!actions.isEmpty)
      #expect(actions.contains { ($0["duration_seconds"] as? Double) != nil }, "\(actions)")
      let tests = try #require(lavaJob["tests"] as? [[String: Any]])
      #expect(tests.contains { $0["result"] as? String == "pass" }, "\(tests)")

      let dotenv = try #require(uploads.first { $0.artifactType == "dotenv" })
      #expect(dotenv.artifactFormat == "gzip")
      let variables = DotenvRules.variables(try dotenv.gunzipped())
      #expect(variables["LAVA_JOB_ID"] == String(id))
      #expect(variables["LAVA_HEALTH"] == "Complete")
      #expect(variables["LAVA_DEVICE"] == lavaJob["device"] as? String)
      #expect(variables["LAVA_JOB_URL"]?.hasSuffix("/scheduler/job/\(id)") == true)
      try await expectNoSecrets(gitlab, job)
    }
  }

  @Test func aFailingTestCaseFailsTheJobAsAScriptFailureNamingTheCase() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(try lavaJob("qemu-fail.yaml"))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(180))
      let trace = await gitlab.traceText(of: job.id)
      #expect(result.status == .failed)
      #expect(result.failureReason == "script_failure", "\(trace.suffix(3000))")
      #expect(trace.contains("must-fail"))
      try await expectNoSecrets(gitlab, job)
    }
  }

  @Test func aBadBootMethodFailsWithLAVAsError() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(try lavaJob("qemu-bad-boot.yaml"))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(180))
      let trace = await gitlab.traceText(of: job.id)
      #expect(result.status == .failed, "\(trace.suffix(3000))")
      #expect(trace.contains("Incomplete"))
      try await expectNoSecrets(gitlab, job)
    }
  }

  @Test func aJobCancelledInGitLabLeavesItsLAVAJobCanceled() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(try lavaJob("qemu-long.yaml"))
      let clock = ContinuousClock()
      var lavaID: Int64?
      let deadline = clock.now + .seconds(120)
      while lavaID == nil, clock.now < deadline {
        let trace = await gitlab.traceText(of: job.id)
        if let range = trace.range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression) {
          lavaID = Int64(trace[range].split(separator: "/").last!)
        }
        try await Task.sleep(for: .milliseconds(200))
      }
      let id = try #require(lavaID, "the runner never printed the LAVA job's URL")
      await gitlab.cancel(jobID: job.id)
      _ = try await gitlab.result(of: job.id, timeout: .seconds(60))
      let http = try HTTPClient()
      defer { http.requestShutdown() }
      let lava = LAVAConnections(http: http, metrics: RunnerMetrics())
      let client = try lava.server(url: server.url, token: server.token)
      var health = LAVAJobHealth.unknown
      let lavaDeadline = clock.now + .seconds(60)
      while clock.now < lavaDeadline {
        let detail = try await client.job(id)
        if detail.state == .finished {
          health = detail.health
          break
        }
        try await Task.sleep(for: .milliseconds(500))
      }
      #expect(health == .canceled)
      #expect(await gitlab.traceText(of: job.id).lowercased().contains("cancel"))
    }
  }
}
