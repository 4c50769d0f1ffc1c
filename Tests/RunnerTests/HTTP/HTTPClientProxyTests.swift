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

@Suite struct HTTPClientProxyTests {
  /// A forward proxy for plain http that answers itself and records the request lines it got.
  static func recordingProxy(_ lines: Locked<[String]>) throws -> RawSocketServer {
    try RawSocketServer { connection in
      let head = connection.readRequestHead()
      lines.withLock { $0.append(head.components(separatedBy: "\r\n")[0]) }
      connection.write("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nvia proxy")
    }
  }

  @Test func uppercaseHTTPProxyVariableRoutesPlainHTTPThroughTheProxy() async throws {
    let lines = Locked<[String]>([])
    let proxy = try Self.recordingProxy(lines)
    defer { proxy.stop() }
    let port = try closedLocalPort()
    try await withHTTPClient {
      $0.proxy = .environment(["HTTP_PROXY": proxy.baseURL.absoluteString])
    } body: { client in
      let response = try await client.data(
        for: HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v4/jobs/request?x=1")!))
      #expect(response.body == Data("via proxy".utf8))
    }
    #expect(lines.current == ["GET http://127.0.0.1:\(port)/api/v4/jobs/request?x=1 HTTP/1.1"])
  }

  @Test func noProxyListBypassesTheProxy() async throws {
    let lines = Locked<[String]>([])
    let proxy = try Self.recordingProxy(lines)
    defer { proxy.stop() }
    try await withLocalHTTPServer { _ in
      .text("direct")
    } body: { base in
      try await withHTTPClient {
        $0.proxy = .environment([
          "http_proxy": proxy.baseURL.absoluteString, "NO_PROXY": "example.com,127.0.0.1",
        ])
      } body: { client in
        let response = try await client.data(for: HTTPRequest(url: base))
        #expect(response.body == Data("direct".utf8))
      }
    }
    #expect(lines.current.isEmpty)
  }

  @Test func proxyVariablesAreChosenByTheURLScheme() {
    let proxy = HTTPProxyConfiguration.environment([
      "https_proxy": "http://secure-proxy:3128", "HTTP_PROXY": "http://plain-proxy:3128",
      "ALL_PROXY": "http://fallback:3128", "no_proxy": "internal.example",
    ])
    #expect(
      proxy.settings(for: URL(string: "https://gitlab.example.com")!).proxy == "http://secure-proxy:3128")
    #expect(proxy.settings(for: URL(string: "http://lava.example.com")!).proxy == "http://plain-proxy:3128")
    #expect(proxy.settings(for: URL(string: "http://lava.example.com")!).noProxy == "internal.example")
    let fallback = HTTPProxyConfiguration.environment(["all_proxy": "http://fallback:3128"])
    #expect(
      fallback.settings(for: URL(string: "https://gitlab.example.com")!).proxy == "http://fallback:3128")
    #expect(HTTPProxyConfiguration.environment([:]).settings(for: URL(string: "https://x")!).proxy == "")
  }
}
