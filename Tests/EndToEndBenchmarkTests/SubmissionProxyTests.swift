import Foundation
import TestSupport
import Testing

@testable import EndToEndBenchmark

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The proxy of part (a): submissions answered from the prepared jobs, everything else reaching
/// the server unchanged.
@Suite struct SubmissionProxyTests {
  static func send(_ method: String, _ url: URL, body: Data? = nil) async throws -> (Int, Data) {
    var request = URLRequest(url: url)
    request.httpMethod = method
    request.httpBody = body
    request.timeoutInterval = 10
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
  }

  @Test func submissionsGetThePreparedJobsInOrderAndEverythingElseIsForwarded() async throws {
    let seen = Locked<[String]>([])
    try await withLocalHTTPServer { request in
      seen.withLock { $0.append("\(request.method) \(request.path)") }
      return .text(#"{"id": 41, "state": "Submitted"}"#)
    } body: { upstream in
      let proxy = try SubmissionProxy(upstreamPort: UInt16(upstream.port!))
      defer { proxy.stop() }
      proxy.prepare([41, 42])
      let jobs = proxy.url.appendingPathComponent("api/v0.2/jobs/")
      let definition = Data(#"{"definition": "job_name: x"}"#.utf8)
      let first = try await Self.send("POST", jobs, body: definition)
      #expect(first.0 == 201)
      #expect(String(decoding: first.1, as: UTF8.self).contains(#""job_ids": [41]"#))
      let job = try await Self.send("GET", proxy.url.appendingPathComponent("api/v0.2/jobs/41/"))
      #expect(job.0 == 200)
      #expect(String(decoding: job.1, as: UTF8.self) == #"{"id": 41, "state": "Submitted"}"#)
      let second = try await Self.send("POST", jobs, body: definition)
      #expect(String(decoding: second.1, as: UTF8.self).contains(#""job_ids": [42]"#))
      let usedUp = try await Self.send("POST", jobs, body: definition)
      #expect(usedUp.0 == 503)
      #expect(proxy.submissionsAnswered == 2)
      // Another POST (a cancel, a worker's call) is not a submission.
      _ = try await Self.send("POST", proxy.url.appendingPathComponent("api/v0.2/jobs/41/cancel/"))
      // (The test server reports paths without their last slash.)
      #expect(seen.current == ["GET /api/v0.2/jobs/41", "POST /api/v0.2/jobs/41/cancel"])
      // A new binary's run hands out the same jobs again.
      proxy.prepare([41])
      #expect(
        String(decoding: try await Self.send("POST", jobs, body: definition).1, as: UTF8.self).contains(
          "[41]"))
    }
  }

  @Test func onlyAPostToTheJobListIsASubmission() {
    #expect(SubmissionProxy.isSubmission(method: "POST", target: "/api/v0.2/jobs/"))
    #expect(SubmissionProxy.isSubmission(method: "POST", target: "/lava/api/v0.2/jobs?format=json"))
    #expect(!SubmissionProxy.isSubmission(method: "GET", target: "/api/v0.2/jobs/"))
    #expect(!SubmissionProxy.isSubmission(method: "POST", target: "/api/v0.2/jobs/12/cancel/"))
    #expect(!SubmissionProxy.isSubmission(method: "POST", target: "/scheduler/internal/v1/jobs/12/logs/"))
  }

  @Test func aChunkedReplyIsReframedWithItsLength() throws {
    let raw = Data(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-A: b\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"
        .utf8)
    let text = String(decoding: try #require(SubmissionProxy.reframe(raw)), as: UTF8.self)
    #expect(text == "HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 7\r\nConnection: keep-alive\r\n\r\nabcdefg")
    #expect(SubmissionProxy.reframe(Data("HTTP/1.1 200 OK\r\n".utf8)) == nil)
  }
}
