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

@Suite struct HTTPClientFailureTests {
  static let head100 = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"

  @Test func slowBodyBeyondTheTotalTimeoutFailsAsTimedOut() async throws {
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write(Self.head100)
      connection.trickle(Data(repeating: 65, count: 100), interval: .milliseconds(100))
    }
    defer { server.stop() }
    try await withHTTPClient { client in
      let error = await #expect(throws: HTTPClientError.self) {
        _ = try await client.data(for: HTTPRequest(url: server.baseURL, timeout: .milliseconds(700)))
      }
      guard case .timedOut? = error else {
        Issue.record("expected a timeout, got \(String(describing: error))")
        return
      }
    }
  }

  @Test func slowBodyWithinTheTimeoutSucceeds() async throws {
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
      connection.trickle(Data("0123456789".utf8), interval: .milliseconds(30))
    }
    defer { server.stop() }
    try await withHTTPClient { client in
      let response = try await client.data(
        for: HTTPRequest(url: server.baseURL, timeout: .seconds(30), idleTimeout: .seconds(10)))
      #expect(response.body == Data("0123456789".utf8))
    }
  }

  @Test func silentServerTripsTheIdleTimeout() async throws {
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write(Self.head100)
      _ = connection.waitForPeerClose(seconds: 20)
    }
    defer { server.stop() }
    try await withHTTPClient { client in
      let error = await #expect(throws: HTTPClientError.self) {
        _ = try await client.data(for: HTTPRequest(url: server.baseURL, idleTimeout: .seconds(1)))
      }
      guard case .timedOut? = error else {
        Issue.record("expected a timeout, got \(String(describing: error))")
        return
      }
    }
  }

  @Test func connectionDroppedMidBodyIsAnErrorForEveryBodyMode() async throws {
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
      connection.write(Data(repeating: 66, count: 100))
    }
    defer { server.stop() }
    try await withHTTPClient { client in
      let request = HTTPRequest(url: server.baseURL, timeout: .seconds(30))
      let inMemory = await #expect(throws: HTTPClientError.self) { _ = try await client.data(for: request) }
      #expect(Self.isConnectionLost(inMemory))

      let (head, stream) = try await client.stream(request)
      #expect(head.status == 200)
      let streamed = await #expect(throws: HTTPClientError.self) {
        for try await _ in stream {}
      }
      #expect(Self.isConnectionLost(streamed))

      let file = FileManager.default.temporaryDirectory.appendingPathComponent("dropped-\(UUID().uuidString)")
      let downloaded = await #expect(throws: HTTPClientError.self) {
        _ = try await client.download(request, to: file)
      }
      #expect(Self.isConnectionLost(downloaded))
      #expect(
        !FileManager.default.fileExists(atPath: file.path), "a partial download must not be left behind")
    }
  }

  static func isConnectionLost(_ error: HTTPClientError?) -> Bool {
    if case .connectionLost? = error { return true }
    return false
  }

  @Test func refusedConnectionIsReportedWithoutSecrets() async throws {
    let port = try closedLocalPort()
    let url = try #require(
      URL(string: "http://user:pa55word@127.0.0.1:\(port)/api/jobs?private_token=s3cr3t"))
    try await withHTTPClient { client in
      let error = await #expect(throws: HTTPClientError.self) {
        _ = try await client.data(for: HTTPRequest(url: url, headers: ["PRIVATE-TOKEN": "glpat-xyz"]))
      }
      guard case .connectionFailed? = error else {
        Issue.record("expected a connection failure, got \(String(describing: error))")
        return
      }
      let text = String(describing: error)
      #expect(text.contains("127.0.0.1:\(port)/api/jobs"))
      for secret in ["pa55word", "s3cr3t", "glpat-xyz", "user:"] {
        #expect(!text.contains(secret), "the message leaks \(secret): \(text)")
      }
    }
  }

  @Test func plainHTTPServerOnAnHTTPSURLIsATLSError() async throws {
    let server = try RawSocketServer { connection in
      _ = connection.readSome()
      connection.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    }
    defer { server.stop() }
    let url = try #require(URL(string: "https://127.0.0.1:\(server.port)/"))
    try await withHTTPClient { client in
      let error = await #expect(throws: HTTPClientError.self) {
        _ = try await client.data(for: HTTPRequest(url: url, timeout: .seconds(30)))
      }
      guard case .tls? = error else {
        Issue.record("expected a TLS error, got \(String(describing: error))")
        return
      }
    }
  }

  @Test func missingCABundleIsRejectedWhenTheClientStarts() throws {
    var configuration = HTTPClientConfiguration()
    configuration.tls.caBundle = URL(fileURLWithPath: "/nonexistent/ca.pem")
    #expect(
      throws: HTTPClientError.fileAccess(
        path: "/nonexistent/ca.pem", detail: "TLS file is missing or not readable")
    ) {
      _ = try HTTPClient(configuration: configuration)
    }
  }

  @Test func cancellingTheTaskEndsTheRequestAndClosesTheConnection() async throws {
    let requested = Locked(false)
    let clientHungUp = Locked<Bool?>(nil)
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      requested.withLock { $0 = true }
      let closed = connection.waitForPeerClose(seconds: 20)
      clientHungUp.withLock { $0 = closed }
      connection.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
    }
    defer { server.stop() }
    try await withHTTPClient { client in
      let task = Task { try await client.data(for: HTTPRequest(url: server.baseURL)) }
      for _ in 0..<500 where !requested.current {
        try await Task.sleep(for: .milliseconds(10))
      }
      #expect(requested.current)
      task.cancel()
      await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
    server.stop()
    #expect(clientHungUp.current == true)
  }

  @Test func shutdownEndsPendingRequestsAndRefusesNewOnes() async throws {
    let requested = Locked(false)
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      requested.withLock { $0 = true }
      _ = connection.waitForPeerClose(seconds: 20)
    }
    defer { server.stop() }
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let client = try HTTPClient(configuration: configuration)
    let pending = Task { try await client.data(for: HTTPRequest(url: server.baseURL)) }
    for _ in 0..<500 where !requested.current {
      try await Task.sleep(for: .milliseconds(10))
    }
    await client.shutdown()
    let shownURL = server.baseURL.maskedForDisplay
    await #expect(throws: HTTPClientError.cancelled(url: shownURL)) { _ = try await pending.value }
    await #expect(throws: HTTPClientError.cancelled(url: shownURL)) {
      _ = try await client.data(for: HTTPRequest(url: server.baseURL))
    }
  }
}
