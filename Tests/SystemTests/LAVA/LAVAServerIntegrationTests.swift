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

/// The LAVA client against a real LAVA server (`scripts/lava-test-server`), with the test
/// playing the worker so that states and log lines are exact. Enabled when the server's
/// variables are in the environment or LAVA_TEST_SERVER_REQUIRED is set (then missing variables
/// fail the tests).
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAServerIntegrationTests {
  let server: LAVATestServer
  let configuration: HTTPClientConfiguration
  let connections: LAVAConnections

  init() throws {
    server = try LAVATestServer.fromEnvironment()
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    self.configuration = configuration
    connections = LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics())
  }

  func client(token: String? = nil) throws -> LAVAClient {
    try connections.client(url: server.url, token: token ?? server.token)
  }

  /// Polls until `condition` holds for the job (at most `attempts` × 250 ms).
  func waitForJob(
    _ id: Int64, attempts: Int = 120, until condition: (LAVAJob) -> Bool
  ) async throws -> LAVAJob {
    var job = try await client().job(id)
    for _ in 0..<attempts where !condition(job) {
      try await Task.sleep(for: .milliseconds(250))
      job = try await client().job(id)
    }
    return job
  }

  /// Reads log lines from `start` until `count` lines came (bounded), as the monitor does.
  func followLog(_ id: Int64, from start: Int, count: Int) async throws -> [LAVALogLine] {
    var lines: [LAVALogLine] = []
    for _ in 0..<120 where lines.count < count {
      lines += try await client().logLines(of: id, from: start + lines.count)
      if lines.count < count { try await Task.sleep(for: .milliseconds(250)) }
    }
    return lines
  }

  @Test func versionAnswersWithAGoodToken() async throws {
    let version = try await client().version()
    #expect(!version.isEmpty)
  }

  @Test func badTokenIsRefusedAsTheUsersMistake() async throws {
    let wrong = "not-a-lava-token-\(UUID().uuidString)"
    let error = await #expect(throws: LAVAClientError.self) {
      try await client(token: wrong).submit(definition: server.playedJobDefinition(name: "bad token"))
    }
    #expect(error?.failureReason == .scriptFailure)
    #expect(error?.description.contains("LAVA refused LAVA_TOKEN (Invalid token.)") == true)
    #expect(error?.description.contains(wrong) == false)
  }

  @Test func badDefinitionIsRejectedWithLAVAsReason() async throws {
    let error = await #expect(throws: LAVAClientError.self) {
      try await client().submit(definition: "job_name: no actions\ndevice_type: \(server.playedDeviceType)\n")
    }
    guard case .definitionRejected(_, let body)? = error else {
      Issue.record("expected definitionRejected, got \(String(describing: error))")
      return
    }
    #expect(body.contains("Problem with submitted job data"))
    #expect(error?.failureReason == .scriptFailure)
    #expect(error?.description.contains(server.token) == false)
  }

  @Test func unknownJobIsNotFound() async throws {
    let error = await #expect(throws: LAVAClientError.self) {
      try await client().logLines(of: 987_654_321, from: 0)
    }
    #expect(error == .jobNotFound(id: 987_654_321, server: try client().url.maskedForDisplay))
  }

  @Test func playedJobIsFollowedFromSubmissionToResults() async throws {
    let worker = server.playedWorker()
    let client = try client()
    try await worker.whileOnline {
      let ids = try await client.submit(definition: server.playedJobDefinition(name: "played job"))
      #expect(ids.count == 1)
      let id = try #require(ids.first)
      #expect(try await client.logLines(of: id, from: 0).isEmpty)
      // A client that did not submit the job checks that it exists before it calls a 404 "no line yet".
      let stranger = try LAVAConnections(
        http: HTTPClient(configuration: configuration), metrics: RunnerMetrics()
      ).client(
        url: server.url, token: server.token)
      #expect(try await stranger.logLines(of: id, from: 0).isEmpty)

      let assignment = try await worker.startNextJob(id)
      #expect(assignment.id == id)
      try await worker.run(id)
      #expect(try await waitForJob(id) { $0.state == .running }.state == .running)

      let first = (1...3).map { PlayedWorker.logLine("line \($0)") }
      try await worker.sendLog(id, first)
      var lines = try await followLog(id, from: 0, count: 3)
      #expect(lines.map(\.raw) == first)
      #expect(lines.map(\.entry?.message) == [.text("line 1"), .text("line 2"), .text("line 3")])

      let results = [
        PlayedWorker.resultLine(suite: "smoke", case: "ls", result: "pass"),
        PlayedWorker.resultLine(
          suite: "smoke", case: "boot-time", result: "fail", extra: ["measurement": "1.5", "units": "s"]),
        // LAVA writes some lines with YAML tags; they are not JSON.
        PlayedWorker.logLine("done").replacingOccurrences(of: #""msg":"done""#, with: #""msg": ! "done""#),
      ]
      try await worker.sendLog(id, results)
      lines += try await followLog(id, from: lines.count, count: 3)
      #expect(LAVALogParser.entry(ofJSONLine: results[2]) == nil)
      #expect(lines.last?.entry?.message == .text("done"))
      #expect(lines.map(\.raw) == first + results)
      #expect(try await client.logLines(of: id, from: lines.count).isEmpty)
      guard case .result(let fields)? = lines[4].entry?.message else {
        Issue.record("the results line was not read as a result: \(lines[4].raw)")
        return
      }
      #expect(fields["case"] == "boot-time" && fields["result"] == "fail")

      try await worker.finish(id, result: .pass)
      let finished = try await waitForJob(id) { $0.state == .finished }
      #expect(finished.state == .finished && finished.health == .complete)
      #expect(try await client.jobs([id]) == [finished])

      let cases = try await client.testCases(of: id)
      #expect(cases.contains(LAVATestCase(suite: "smoke", name: "ls", result: "pass")))
      #expect(
        cases.contains {
          $0.suite == "smoke" && $0.name == "boot-time" && $0.result == "fail" && $0.units == "s"
        })

      let file = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID()).xml")
      defer { try? FileManager.default.removeItem(at: file) }
      try await client.downloadJUnit(of: id, to: file)
      let junit = try String(contentsOf: file, encoding: .utf8)
      #expect(junit.contains("<testsuites"))
      #expect(junit.contains("boot-time"))
    }
  }

  @Test func canceledRunningJobEndsCanceled() async throws {
    let worker = server.playedWorker()
    let client = try client()
    try await worker.whileOnline {
      let id = try #require(
        try await client.submit(definition: server.playedJobDefinition(name: "canceled job")).first)
      _ = try await worker.startNextJob(id)
      try await worker.run(id)
      try await client.cancel(id)
      #expect(try await client.job(id).state == .canceling)
      try await worker.waitForCancel(id)
      try await worker.finish(id, result: .fail, errorType: "Canceled")
      let job = try await waitForJob(id) { $0.state == .finished }
      #expect(job.health == .canceled)
      // Canceling a finished job is fine.
      try await client.cancel(id)
    }
  }

  /// A real qemu job (Tests/Fixtures/lava/qemu-pass.yaml) on the server's own worker: the log
  /// as followed while it grows is the log as read at the end, and every real line parses.
  @Test func realJobLogIsFollowedWithoutLossAndEveryLineParses() async throws {
    let environment = ProcessInfo.processInfo.environment
    let fixtures = try #require(
      environment["LAVA_TEST_FIXTURES"].flatMap { $0.isEmpty ? nil : $0 },
      "LAVA_TEST_FIXTURES (from scripts/lava-test-server env) is missing")
    let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Fixtures/lava/qemu-pass.yaml").standardizedFileURL
    let definition = try String(contentsOf: template, encoding: .utf8)
      .replacingOccurrences(of: "{{ job.LAVA_TEST_FIXTURES }}", with: fixtures)
    let client = try client()
    let id = try #require(try await client.submit(definition: definition).first)

    var followed: [LAVALogLine] = []
    var job = try await client.job(id)
    for _ in 0..<480 where job.state != .finished {
      try await Task.sleep(for: .milliseconds(250))
      followed += try await client.logLines(of: id, from: followed.count)
      job = try await client.job(id)
    }
    followed += try await client.logLines(of: id, from: followed.count)
    #expect(job.state == .finished && job.health == .complete, "job \(id) ended \(job.state)/\(job.health)")

    let whole = try await client.logLines(of: id, from: 0)
    #expect(!whole.isEmpty)
    #expect(followed.map(\.raw) == whole.map(\.raw))
    #expect(whole.filter { $0.entry == nil }.map(\.raw) == [])
    // LAVA's `end` is exclusive: small requests put together give the same log.
    var limits = LAVARequestLimits()
    limits.logLinesPerRequest = 7
    limits.logRequestsPerCall = 10_000
    let chunked = try LAVAConnections(
      http: HTTPClient(configuration: configuration), metrics: RunnerMetrics(), limits: limits
    )
    .client(url: server.url, token: server.token)
    #expect(try await chunked.logLines(of: id, from: 0).map(\.raw) == whole.map(\.raw))
    let results = whole.compactMap { line -> [String: String]? in
      if case .result(let fields)? = line.entry?.message { return fields }
      return nil
    }
    #expect(results.contains { $0["case"] == "always-true" && $0["result"] == "pass" })
    let cases = try await client.testCases(of: id)
    #expect(cases.contains { $0.name == "always-true" && $0.result == "pass" })
  }
}
