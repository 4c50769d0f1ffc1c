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

/// Issue 11, findings 7 and 8: what the LAVA client takes in of replies that are too large or
/// about another job than the one asked for.
@Suite struct LAVAHostileReplyTests {
  static let token = "lava-secret-token-1234"

  static func withClient<T: Sendable>(
    limits replyLimits: LAVAReplyLimits = LAVAReplyLimits(), _ body: (FakeLAVA, LAVAClient) async throws -> T
  ) async throws -> T {
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      var configuration = HTTPClientConfiguration()
      configuration.proxy = .direct
      var limits = LAVARequestLimits()
      limits.replies = replyLimits
      let connections = LAVAConnections(
        http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics(), limits: limits)
      let client = try connections.client(url: await lava.url, token: Self.token)
      let value = try await body(lava, client)
      #expect(await lava.violations == [])
      return value
    }
  }

  static func logLine(_ n: Int, padding: Int = 0) -> String {
    #"- {"dt": "t\#(n)", "lvl": "target", "msg": "line \#(n)\#(String(repeating: "x", count: padding))"}"#
  }

  // MARK: finding 7: unbounded memory from LAVA replies

  @Test func finding7_junitDownloadStopsAtTheCapWithATypedErrorAndLeavesNoFile() async throws {
    var limits = LAVAReplyLimits()
    limits.junit = 64 << 10
    try await Self.withClient(limits: limits) { lava, client in
      var job = FakeLAVAJob(state: "Finished", health: "Complete")
      job.junit =
        "<testsuites>" + String(repeating: "<testcase name=\"x\"/>\n", count: 20_000) + "</testsuites>"
      let id = await lava.addJob(job)
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID()).xml")
      defer { try? FileManager.default.removeItem(at: file) }
      let error = await #expect(throws: LAVAReplyTooLarge.self) {
        try await client.downloadJUnit(of: id, to: file)
      }
      #expect(error?.limit == 64 << 10)
      #expect(error?.description.contains("jobs/\(id)/junit/") == true)
      #expect(!FileManager.default.fileExists(atPath: file.path))
      // Not retried: the same request would get the same reply.
      #expect(await lava.requests(to: .junit).count == 1)
    }
  }

  @Test func finding7_junitUnderTheCapIsDownloadedWhole() async throws {
    var limits = LAVAReplyLimits()
    limits.junit = 64 << 10
    try await Self.withClient(limits: limits) { lava, client in
      var job = FakeLAVAJob(state: "Finished", health: "Complete")
      job.junit = "<testsuites>" + String(repeating: "<testcase/>\n", count: 100) + "</testsuites>"
      let id = await lava.addJob(job)
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID()).xml")
      defer { try? FileManager.default.removeItem(at: file) }
      try await client.downloadJUnit(of: id, to: file)
      #expect(try String(contentsOf: file, encoding: .utf8) == job.junit)
    }
  }

  @Test func finding7_logReplyOverTheCapIsAskedAgainForFewerLinesLosingNone() async throws {
    var limits = LAVAReplyLimits()
    limits.logReply = 4 << 10
    try await Self.withClient(limits: limits) { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      // 300 lines of about 100 bytes: 30 KiB, far more than one 4 KiB reply.
      await lava.appendLog(id, (0..<300).map { Self.logLine($0, padding: 60) })
      var lines: [LAVALogLine] = []
      for _ in 0..<50 where lines.count < 300 {
        lines += try await client.logLines(of: id, from: lines.count)
      }
      #expect(lines.map(\.raw) == (0..<300).map { Self.logLine($0, padding: 60) })
      for request in await lava.requests(to: .logs) {
        let query = Dictionary(
          uniqueKeysWithValues: request.query.split(separator: "&").map {
            let parts = $0.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), Int(parts[1]) ?? -1)
          })
        #expect(
          query["end", default: .max] - query["start", default: 0] <= LAVARequestLimits().logLinesPerRequest)
      }
    }
  }

  @Test func finding7_oneLogCallHoldsAboutOneReplyOfLinesHoweverLongTheLog() async throws {
    var limits = LAVAReplyLimits()
    limits.logReply = 16 << 10
    try await Self.withClient(limits: limits) { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      // 400 lines of about 1 KiB: 400 KiB, 25 replies' worth; one call used to gather 20 requests.
      let all = (0..<400).map { Self.logLine($0, padding: 1000) }
      await lava.appendLog(id, all)
      var lines: [LAVALogLine] = []
      for _ in 0..<200 where lines.count < all.count {
        let batch = try await client.logLines(of: id, from: lines.count)
        #expect(batch.reduce(0) { $0 + $1.raw.utf8.count } <= 2 * limits.logReply)
        lines += batch
      }
      #expect(lines.map(\.raw) == all)
    }
  }

  @Test func finding7_logLineOverTheLineCapIsKeptTruncatedWithAVisibleMarker() async throws {
    var limits = LAVAReplyLimits()
    limits.logLine = 1 << 10
    try await Self.withClient(limits: limits) { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let long = Self.logLine(1, padding: 5000)
      await lava.appendLog(id, [Self.logLine(0), long, Self.logLine(2)])
      let lines = try await client.logLines(of: id, from: 0)
      #expect(lines.count == 3)
      #expect(lines[0].raw == Self.logLine(0))
      #expect(lines[2].raw == Self.logLine(2))
      #expect(lines[1].raw == String(long.prefix(1 << 10)) + " … [line truncated: \(long.utf8.count) bytes]")
      #expect(lines[1].entry == nil)
    }
  }

  @Test func finding7_singleLogLineLargerThanAWholeReplyKeepsItsStartAndAMarker() async throws {
    var limits = LAVAReplyLimits()
    limits.logReply = 16 << 10
    limits.logLine = 1 << 10
    try await Self.withClient(limits: limits) { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let huge = Self.logLine(1, padding: 100_000)
      await lava.appendLog(id, [Self.logLine(0), huge, Self.logLine(2)])
      var lines: [LAVALogLine] = []
      for _ in 0..<10 where lines.count < 3 {
        lines += try await client.logLines(of: id, from: lines.count)
      }
      #expect(lines.count == 3)
      #expect(lines[0].raw == Self.logLine(0))
      #expect(lines[1].raw == String(huge.prefix(1 << 10)) + " … [line truncated: more than 16384 bytes]")
      #expect(lines[2].raw == Self.logLine(2))
    }
  }

  @Test func finding7_endlessJobDetailIsCutOffAtTheReplyCap() async throws {
    let stopped = Locked<Bool?>(nil)
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      guard connection.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"id\": 1, \"x\": \"")
      else { return }
      let block = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
      // 300 MiB at most: a bound on the loop, far past the cap.
      var sent = 0
      while sent < 300, connection.write(block) { sent += 1 }
      stopped.withLock { $0 = sent < 300 }
    }
    defer { server.stop() }
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    var limits = LAVARequestLimits()
    limits.replies.replyBody = 1 << 20
    let client = try LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics(), limits: limits
    )
    .client(url: server.baseURL, token: Self.token)
    let error = await #expect(throws: LAVAReplyTooLarge.self) { _ = try await client.job(1) }
    #expect(error?.limit == 1 << 20)
    #expect(error?.failureReason == .runnerSystemFailure)
    server.stop()
    #expect(stopped.current == true, "the server sent the whole 300 MiB: the client did not stop reading")
  }

  // MARK: finding 8: reply ids unchecked

  @Test func finding8_jobDetailAboutAnotherJobIsNotTakenAsTheAskedJobsVerdict() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      await lava.failNext(
        .job,
        with: .reply(
          200, body: #"{"id": 999, "state": "Finished", "health": "Complete", "description": "other"}"#))
      let error = await #expect(throws: LAVAClientError.self) { _ = try await client.job(id) }
      #expect(
        error
          == .replyAboutOtherJob(endpoint: "GET \(await lava.url)api/v0.2/jobs/\(id)/", asked: [id], got: 999)
      )
      #expect(error?.failureReason == .runnerSystemFailure)
      #expect(error?.description.contains("asked about job \(id) but answered about job 999") == true)
    }
  }

  @Test func finding8_jobListHoldingAJobNotAskedForIsRefused() async throws {
    try await Self.withClient { lava, client in
      let first = await lava.addJob(FakeLAVAJob(state: "Running"))
      let second = await lava.addJob(FakeLAVAJob(state: "Running"))
      await lava.failNext(
        .jobList,
        with: .reply(
          200,
          body: #"{"next": null, "results": [{"id": \#(first), "state": "Running", "health": "Unknown"}, "#
            + #"{"id": 999, "state": "Finished", "health": "Complete"}]}"#))
      let error = await #expect(throws: LAVAClientError.self) { _ = try await client.jobs([first, second]) }
      #expect(error?.failureReason == .runnerSystemFailure)
      #expect(
        error?.description.contains("asked about jobs \(first), \(second) but answered about job 999") == true
      )
    }
  }

  @Test func finding8_jobListNamingAJobTwiceIsRefused() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let item = #"{"id": \#(id), "state": "Running", "health": "Unknown"}"#
      await lava.failNext(
        .jobList, with: .reply(200, body: #"{"next": null, "results": [\#(item), \#(item)]}"#))
      let error = await #expect(throws: LAVAClientError.self) { _ = try await client.jobs([id]) }
      #expect(error == .replyAboutOtherJob(endpoint: error?.endpointForTest ?? "", asked: [id], got: id))
    }
  }

  @Test(arguments: ["[0]", "[-3]", "[7, 7]", "[5, 0, 6]"])
  func finding8_submissionReplyWithIdsThatAreNotDistinctPositiveNumbersFails(ids: String) async throws {
    try await Self.withClient { lava, client in
      await lava.failNext(.submit, with: .reply(201, body: #"{"job_ids": \#(ids)}"#))
      let error = await #expect(throws: LAVAClientError.self) {
        _ = try await client.submit(definition: "actions: []\n")
      }
      #expect(error?.failureReason == .runnerSystemFailure)
      #expect(error?.description.contains("not distinct positive numbers") == true)
    }
  }
}

extension LAVAClientError {
  fileprivate var endpointForTest: String? {
    if case .replyAboutOtherJob(let endpoint, _, _) = self { return endpoint }
    return nil
  }
}
