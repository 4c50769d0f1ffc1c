import Foundation
import Protocols
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// `LAVAClient.logPages`: a job far behind is read one reply at a time, each handed over before
/// the next is asked for, so the lines held do not grow with how far behind it is.
@Suite struct LAVALogPagesTests {
  static func client(_ lava: FakeLAVA, linesPerRequest: Int, requestsPerCall: Int) async throws -> LAVAClient
  {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    var limits = LAVARequestLimits()
    limits.logLinesPerRequest = linesPerRequest
    limits.logRequestsPerCall = requestsPerCall
    return try LAVAConnections(
      http: HTTPClient(configuration: configuration), metrics: RunnerMetrics(), limits: limits
    )
    .client(url: await lava.url, token: LAVAClientTests.token)
  }

  @Test func eachPageIsHandedOverBeforeTheNextIsAskedFor() async throws {
    try await FakeLAVA.withRunning(token: LAVAClientTests.token) { lava in
      let client = try await Self.client(lava, linesPerRequest: 4, requestsPerCall: 3)
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let expected = (0..<13).map(LAVAClientTests.logLine)
      await lava.appendLog(id, expected)
      var pages: [[String]] = []
      var requestsSeen: [Int] = []
      try await client.logPages(of: id, from: 0) { page in
        pages.append(page.map(\.raw))
        requestsSeen.append(await lava.requests(to: .logs).count)
      }
      #expect(pages == [Array(expected[0..<4]), Array(expected[4..<8]), Array(expected[8..<12])])
      #expect(requestsSeen == [1, 2, 3], "a page was held until a later request")
      #expect(await lava.violations == [])
    }
  }

  @Test func aFailureAfterSomePagesKeepsThemAndTheNextCallGoesOnFromThere() async throws {
    try await FakeLAVA.withRunning(token: LAVAClientTests.token) { lava in
      let client = try await Self.client(lava, linesPerRequest: 5, requestsPerCall: 4)
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let expected = (0..<17).map(LAVAClientTests.logLine)
      await lava.appendLog(id, expected)
      var consumed: [String] = []
      var failures = 0
      for _ in 0..<10 where consumed.count < expected.count {
        do {
          try await client.logPages(of: id, from: consumed.count) { page in
            consumed += page.map(\.raw)
            // The request after this page fails: what was handed over stays consumed.
            if consumed.count == 5 || consumed.count == 15 { await lava.failNext(.logs, with: 503) }
          }
        } catch let error as LAVAClientError {
          guard case .outage = error.retryability else { throw error }
          failures += 1
        }
      }
      #expect(failures == 2)
      #expect(consumed == expected, "a line lost or repeated")
      #expect(
        await lava.requests(to: .logs).map(\.query) == [
          "start=0&end=5", "start=5&end=10", "start=5&end=10", "start=10&end=15", "start=15&end=20",
          "start=15&end=20",
        ])
      #expect(await lava.violations == [])
    }
  }

  @Test func logLinesGathersThePagesOfOneCall() async throws {
    try await FakeLAVA.withRunning(token: LAVAClientTests.token) { lava in
      let client = try await Self.client(lava, linesPerRequest: 3, requestsPerCall: 2)
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      let expected = (0..<8).map(LAVAClientTests.logLine)
      await lava.appendLog(id, expected)
      #expect(try await client.logLines(of: id, from: 0).map(\.raw) == Array(expected[0..<6]))
      #expect(try await client.logLines(of: id, from: 6).map(\.raw) == Array(expected[6..<8]))
    }
  }
}
