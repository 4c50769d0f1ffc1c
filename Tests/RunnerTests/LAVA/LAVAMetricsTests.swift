import Foundation
import Protocols
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// What the LAVA client counts on `/metrics`: every request by endpoint template and status,
/// its duration, retries, and each job whose log is followed.
@Suite struct LAVAMetricsTests {
  static let token = "lava-metrics-token-98765"

  @Test func everyLAVARequestIsCountedByEndpointTemplateAndStatusWithoutIdsOrToken() async throws {
    let metrics = RunnerMetrics()
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let http = try HTTPClient(configuration: configuration)
    defer { http.requestShutdown() }
    let connections = LAVAConnections(
      http: http, metrics: metrics)
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      let client = try connections.client(url: await lava.url, token: Self.token)
      let id = try #require(try await client.submit(definition: "job_name: x\nactions: []\n").first)
      await lava.appendLog(id, [#"- {"dt": "t", "lvl": "target", "msg": "hello"}"#])
      await lava.failNext(.job, with: 503)
      // The client tries once; asking again is the command's retrier's decision.
      _ = try? await client.job(id)
      _ = try await client.job(id)
      _ = try await client.logLines(of: id, from: 0)
      _ = try await client.logLines(of: id, from: 1)
      #expect(await lava.violations == [])
    }
    let text = metrics.render()
    #expect(text.contains(#"lava_runner_lava_requests_total{endpoint="jobs",status="201"} 1"#))
    #expect(text.contains(#"lava_runner_lava_requests_total{endpoint="jobs/:id",status="503"} 1"#))
    #expect(text.contains(#"lava_runner_lava_requests_total{endpoint="jobs/:id",status="200"} 1"#))
    #expect(text.contains(#"lava_runner_lava_requests_total{endpoint="jobs/:id/logs",status="200"} 1"#))
    #expect(text.contains(#"lava_runner_lava_request_duration_seconds_count{endpoint="jobs/:id/logs"} 2"#))
    // Two reads of one job's log are one job followed.
    #expect(text.contains("lava_runner_lava_jobs_followed_total 1"))
    #expect(!text.contains(Self.token))
    #expect(!text.contains("api/v0.2"))
  }

  @Test func theStreamedStartOfAnOversizedLogLineIsCountedLikeEveryOtherRequest() async throws {
    let metrics = RunnerMetrics()
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let http = try HTTPClient(configuration: configuration)
    defer { http.requestShutdown() }
    var limits = LAVARequestLimits()
    limits.replies.logReply = 16 << 10
    limits.replies.logLine = 1 << 10
    let connections = LAVAConnections(http: http, metrics: metrics, limits: limits)
    let sent = try await FakeLAVA.withRunning(token: Self.token) { lava in
      let client = try connections.client(url: await lava.url, token: Self.token)
      let id = await lava.addJob(FakeLAVAJob(state: "Running"))
      // One line larger than a whole reply: only its start is read, as a stream.
      let huge = #"- {"dt": "t", "lvl": "target", "msg": ""# + String(repeating: "x", count: 100_000) + #""}"#
      await lava.appendLog(id, [huge])
      var lines: [LAVALogLine] = []
      for _ in 0..<10 where lines.isEmpty {
        lines += try await client.logLines(of: id, from: 0)
      }
      #expect(lines.count == 1)
      return await lava.requests(to: .logs).count
    }
    #expect(
      metrics.render().contains(
        #"lava_runner_lava_request_duration_seconds_count{endpoint="jobs/:id/logs"} \#(sent)"#),
      "\(sent) log requests sent")
  }

  @Test func metricsLabelKeepsTheEndpointUnderAServerPrefixAndDropsIdsAndQuery() throws {
    let url = try #require(
      URL(string: "https://lava.example.com/lava/api/v0.2/jobs/1234/logs/?start=0&end=5"))
    #expect(LAVATransport.metricsLabel(url) == "jobs/:id/logs")
    let page = try #require(URL(string: "https://lava.example.com/api/v0.2/jobs/?id__in=1,2&offset=100"))
    #expect(LAVATransport.metricsLabel(page) == "jobs")
  }
}
