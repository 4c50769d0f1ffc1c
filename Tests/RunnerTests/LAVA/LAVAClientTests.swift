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

/// The LAVA client against the in-process fake LAVA: what it sends, how it reads the replies,
/// and how it fails.
@Suite struct LAVAClientTests {
  static let token = "lava-secret-token-1234"

  static func connections(maxConcurrentRequests: Int = 4) throws -> LAVAConnections {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    return LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics(),
      maxConcurrentRequests: maxConcurrentRequests)
  }

  static func withClient<T: Sendable>(
    token: String = token, _ body: (FakeLAVA, LAVAClient) async throws -> T
  ) async throws -> T {
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      let client = try Self.connections().client(url: await lava.url, token: token)
      let value = try await body(lava, client)
      #expect(await lava.violations == [])
      return value
    }
  }

  static func logLine(_ n: Int) -> String { #"- {"dt": "t\#(n)", "lvl": "target", "msg": "line \#(n)"}"# }

  @Test func submitSendsTheDefinitionAndReturnsTheJobIDs() async throws {
    try await Self.withClient { lava, client in
      let ids = try await client.submit(definition: "job_name: x\nactions: []\n")
      #expect(await lava.submittedDefinitions == ["job_name: x\nactions: []\n"])
      #expect(ids.count == 1)
      #expect(try await client.job(ids[0]).state == .submitted)
    }
  }

  @Test func badTokenIsAUserErrorThatNeverShowsTheToken() async throws {
    let wrong = "wrong-token-5678"
    try await Self.withClient(token: wrong) { _, client in
      let error = await #expect(throws: LAVAClientError.self) { try await client.version() }
      #expect(error?.failureReason == .scriptFailure)
      #expect(error?.description.contains("LAVA refused LAVA_TOKEN (Invalid token.)") == true)
      #expect(error?.description.contains(wrong) == false)
    }
  }

  @Test func rejectedDefinitionShowsLAVAsReasonWithTheTokenMasked() async throws {
    try await Self.withClient { lava, client in
      let error = await #expect(throws: LAVAClientError.self) {
        try await client.submit(definition: "job_name: uses \(Self.token)\n")
      }
      #expect(error?.failureReason == .scriptFailure)
      let message = error?.description ?? ""
      #expect(message.contains("required key not provided @ data['actions']"))
      #expect(message.contains("[MASKED]"))
      #expect(!message.contains(Self.token))
      #expect(await lava.submittedDefinitions.count == 1)
    }
  }

  @Test func submissionIsNotSentAgainAfterAServerError() async throws {
    try await Self.withClient { lava, client in
      await lava.failNext(.submit, with: 502)
      let error = await #expect(throws: LAVAClientError.self) {
        try await client.submit(definition: "actions: []")
      }
      #expect(error?.failureReason == .runnerSystemFailure)
      #expect(error?.description.contains("may have created it") == true)
      #expect(await lava.requests(to: .submit).count == 1)
    }
  }

  @Test func submissionIsNotSentAgainAfterTheConnectionBroke() async throws {
    try await Self.withClient { lava, client in
      await lava.failNext(.submit, with: .dropConnection)
      await #expect(throws: LAVAClientError.self) { try await client.submit(definition: "actions: []") }
      #expect(await lava.requests(to: .submit).count == 1)
      #expect(await lava.jobs.isEmpty)
    }
  }

  @Test func submissionRefusedWithTooManyRequestsIsAnOutageThatASecondTryGetsPast() async throws {
    try await Self.withClient { lava, client in
      await lava.failNext(.submit, with: 429)
      let error = await #expect(throws: LAVAClientError.self) {
        try await client.submit(definition: "actions: []")
      }
      #expect(error?.retryability == .outage(retryAfter: nil))
      #expect(await lava.jobs.isEmpty)
      let ids = try await client.submit(definition: "actions: []")
      #expect(ids.count == 1)
      #expect(await lava.jobs.count == 1)
    }
  }

  /// Retrying is the command's decision (one policy, one outage budget per job): the client
  /// tries once and says whether asking again can help.
  @Test func submissionToAnUnreachableServerIsTriedOnceAndCalledAnOutage() async throws {
    let lava = FakeLAVA(token: Self.token)
    try await lava.start()
    let url = await lava.url
    await lava.stop()
    let client = try Self.connections().client(url: url, token: Self.token)
    let error = await #expect(throws: LAVAClientError.self) {
      try await client.submit(definition: "actions: []")
    }
    guard case .transport? = error else {
      Issue.record("expected a transport error, got \(String(describing: error))")
      return
    }
    #expect(error?.retryability == .outage(retryAfter: nil))
    #expect(error?.failureReason == .runnerSystemFailure)
  }

  @Test func aServerErrorIsTriedOnceAndCalledAnOutageWithItsRetryAfter() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob())
      await lava.failNext(.job, with: .status(503, retryAfter: 7))
      let error = await #expect(throws: LAVAClientError.self) { try await client.job(id) }
      #expect(error?.failureReason == .runnerSystemFailure)
      #expect(error?.retryability == .outage(retryAfter: .seconds(7)))
      #expect(await lava.requests(to: .job).count == 1)
    }
  }

  @Test func aRefusedTokenAndAnUnknownJobAreFinal() async throws {
    try await Self.withClient(token: "wrong-token") { _, client in
      let error = await #expect(throws: LAVAClientError.self) { try await client.job(1) }
      #expect(error?.retryability == .final)
    }
    try await Self.withClient { _, client in
      let error = await #expect(throws: LAVAClientError.self) { try await client.job(99) }
      #expect(error?.retryability == .final)
    }
  }

  /// Asks again while the failure is an outage, as the commands' retrier does (without pauses).
  static func untilAnswered<T: Sendable>(_ request: () async throws -> T) async throws -> T {
    for _ in 0..<20 {
      do { return try await request() } catch let error as LAVAClientError {
        guard case .outage = error.retryability else { throw error }
      }
    }
    Issue.record("still failing after 20 tries")
    throw CancellationError()
  }

  @Test func serverErrorsAndDroppedConnectionsAreOutagesThatASecondReadGetsPast() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running", health: "Unknown", device: "qemu-01"))
      await lava.failNext(.job, with: .status(503, retryAfter: 0))
      await lava.failNext(.job, with: .dropConnection)
      await lava.failNext(.job, with: 429)
      let job = try await Self.untilAnswered { try await client.job(id) }
      #expect(
        job
          == LAVAJob(
            id: id, state: .running, health: .unknown, description: "fake job", deviceType: "qemu",
            device: "qemu-01"))
    }
  }

  @Test func unknownJobIsAClearUserError() async throws {
    try await Self.withClient { _, client in
      let error = await #expect(throws: LAVAClientError.self) { try await client.job(4242) }
      #expect(error == .jobNotFound(id: 4242, server: (client.url.maskedForDisplay)))
      #expect(error?.failureReason == .scriptFailure)
    }
  }

  @Test func jobsFollowsEveryPage() async throws {
    try await Self.withClient { lava, client in
      await lava.setMaxLimit(3)
      var ids: [Int64] = []
      for _ in 0..<8 { ids.append(await lava.addJob(FakeLAVAJob())) }
      await lava.addJob(FakeLAVAJob())
      let jobs = try await client.jobs(ids.reversed())
      #expect(jobs.map(\.id) == ids)
      #expect(await lava.requests(to: .jobList).count == 3)
    }
  }

  @Test func nextPageLinksGoToTheConfiguredServerOnly() async throws {
    try await Self.withClient { lava, client in
      await lava.setMaxLimit(2)
      await lava.setNextLinkOrigin("http://lava.internal:8000")
      var ids: [Int64] = []
      for _ in 0..<5 { ids.append(await lava.addJob(FakeLAVAJob())) }
      let jobs = try await client.jobs(ids)
      #expect(jobs.map(\.id) == ids)
      #expect(await lava.requests(to: .jobList).count == 3)
    }
  }

  @Test func jobInAStateLAVANeverSendsIsAMalformedReply() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Exploded"))
      let error = await #expect(throws: LAVAClientError.self) { try await client.job(id) }
      #expect(error?.failureReason == .runnerSystemFailure)
      #expect(error?.description.contains("Exploded") == true)
    }
  }

  @Test func logsBeforeTheFirstLineAreEmptyNotAnError() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob())
      let first = try await client.logLines(of: id, from: 0)
      let second = try await client.logLines(of: id, from: 0)
      #expect(first.isEmpty && second.isEmpty)
      // The detail is asked once, to tell "no line yet" from "no such job".
      #expect(await lava.requests(to: .job).count == 1)
    }
  }

  @Test func logsOfAnUnknownJobAreJobNotFound() async throws {
    try await Self.withClient { _, client in
      let error = await #expect(throws: LAVAClientError.self) { try await client.logLines(of: 99, from: 0) }
      #expect(error == .jobNotFound(id: 99, server: client.url.maskedForDisplay))
    }
  }

  @Test func followingALogThroughServerErrorsLosesAndRepeatsNoLine() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let expected = (0..<30).map(Self.logLine)
      var received: [LAVALogLine] = []
      for (round, batch) in stride(from: 0, to: 30, by: 7).map({ Array(expected[$0..<min($0 + 7, 30)]) })
        .enumerated()
      {
        await lava.appendLog(id, batch)
        if round % 2 == 1 { await lava.failNext(.logs, with: 503, times: 2) }
        received += try await Self.untilAnswered { try await client.logLines(of: id, from: received.count) }
        #expect(try await client.logLines(of: id, from: received.count).isEmpty)
      }
      #expect(received.map(\.raw) == expected)
      #expect(received.allSatisfy { $0.entry != nil })
    }
  }

  @Test func longLogIsReadInBoundedRequestsWithoutLossOrRepeat() async throws {
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      var configuration = HTTPClientConfiguration()
      configuration.proxy = .direct
      var limits = LAVARequestLimits()
      limits.logLinesPerRequest = 4
      limits.logRequestsPerCall = 3
      let client = try LAVAConnections(
        http: HTTPClient(configuration: configuration), metrics: RunnerMetrics(), limits: limits
      )
      .client(url: await lava.url, token: Self.token)
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let expected = (0..<13).map(Self.logLine)
      await lava.appendLog(id, expected)
      let first = try await client.logLines(of: id, from: 0)
      #expect(first.count == 12)
      #expect(
        await lava.requests(to: .logs).map(\.query) == ["start=0&end=4", "start=4&end=8", "start=8&end=12"])
      let rest = try await client.logLines(of: id, from: first.count)
      let none = try await client.logLines(of: id, from: first.count + rest.count)
      #expect((first + rest).map(\.raw) == expected)
      #expect(none.isEmpty)
      #expect(await lava.violations == [])
    }
  }

  @Test func testCasesCarryTheirSuiteNamesAcrossPages() async throws {
    try await Self.withClient { lava, client in
      await lava.setPageSize(2)
      var job = FakeLAVAJob(state: "Finished", health: "Complete")
      job.testCases = [
        FakeLAVATestCase(suite: "lava", name: "job", result: "pass"),
        FakeLAVATestCase(suite: "0_smoke", name: "ls", result: "pass"),
        FakeLAVATestCase(
          suite: "0_smoke", name: "boot-time", result: "fail", measurement: "12.5000000000", unit: "s"),
      ]
      let id = await lava.addJob(job)
      let cases = try await client.testCases(of: id)
      #expect(
        cases == [
          LAVATestCase(suite: "lava", name: "job", result: "pass"),
          LAVATestCase(suite: "0_smoke", name: "ls", result: "pass"),
          LAVATestCase(
            suite: "0_smoke", name: "boot-time", result: "fail", measurement: "12.5000000000", units: "s"),
        ])
    }
  }

  @Test func junitIsWrittenToTheFile() async throws {
    try await Self.withClient { lava, client in
      var job = FakeLAVAJob(state: "Finished", health: "Complete")
      job.junit = #"<?xml version="1.0"?><testsuites><testsuite name="lava" tests="1"/></testsuites>"#
      let id = await lava.addJob(job)
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID()).xml")
      defer { try? FileManager.default.removeItem(at: file) }
      try await client.downloadJUnit(of: id, to: file)
      #expect(try String(contentsOf: file, encoding: .utf8) == job.junit)
    }
  }

  @Test func cancelIsAGetAndAnUnknownJobIsNotCalledAServerFailure() async throws {
    try await Self.withClient { lava, client in
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      try await client.cancel(id)
      #expect(try await client.job(id).health == .canceled)
      try await client.cancel(id)
      let error = await #expect(throws: LAVAClientError.self) { try await client.cancel(777) }
      #expect(error == .jobNotFound(id: 777, server: client.url.maskedForDisplay))
    }
  }

  @Test func requestsInFlightToOneServerNeverExceedTheCapAcrossClients() async throws {
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      await lava.setResponseDelay(.milliseconds(20))
      let connections = try Self.connections(maxConcurrentRequests: 2)
      let url = await lava.url
      let first = try connections.client(url: url, token: Self.token)
      let second = try connections.client(url: url, token: "another-user-token")
      #expect(first !== second)
      #expect(try connections.client(url: url, token: Self.token) === first)
      let id = await lava.addJob(FakeLAVAJob())
      try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<16 {
          group.addTask {
            if index % 2 == 0 {
              _ = try await first.job(id)
            } else {
              _ = try? await second.version()
            }
          }
        }
        try await group.waitForAll()
      }
      #expect(await lava.requests.count == 16)
      #expect(await lava.maxRequestsInFlight <= 2)
    }
  }
}
