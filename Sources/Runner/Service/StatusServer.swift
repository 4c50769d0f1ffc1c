import FlyingFox
import FlyingSocks
import Foundation
import HTTP
import RunnerCore
import ServiceLifecycle

/// `/metrics` (Prometheus text), `/health/live` and `/health/ready` on the listen address.
struct StatusServer: Service {
  let address: ListenAddress
  let metrics: RunnerMetrics
  let health: RunnerHealth
  /// Told the port once listening (useful with port 0).
  var onListening: @Sendable (UInt16) -> Void = { _ in }

  func run() async throws {
    let socketAddress: any SocketAddress =
      switch address.host {
      case .any: sockaddr_in.inet(port: address.port)
      case .ip4(let ip): try sockaddr_in.inet(ip4: ip, port: address.port)
      case .ip6(let ip): try sockaddr_in6.inet6(ip6: ip, port: address.port)
      }
    let server = HTTPServer(
      config: HTTPServer.Configuration(address: socketAddress, timeout: 15, logger: .disabled),
      handler: ClosureHTTPHandler { [metrics, health] request in
        Self.answer(request, metrics: metrics, health: health)
      })
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        do {
          try await server.run()
        } catch {
          // `server.stop` below ends `run` with an error: the stop asked for, not a failure
          // (which would make a drained runner exit 1).
          guard Task.isShuttingDownGracefully else { throw error }
        }
      }
      group.addTask {
        try? await gracefulShutdown()
        await server.stop(timeout: 1)
      }
      // A bound for a loaded node, not FlyingFox's 5 s: a runner resuming many jobs at start
      // must not exit because its status page took a while (a taken port fails at once).
      try await server.waitUntilListening(timeout: 30)
      switch await server.listeningAddress {
      case .ip4(_, let port), .ip6(_, let port): onListening(port)
      default: break
      }
      try await group.next()
      group.cancelAll()
    }
  }

  static func answer(_ request: FlyingFox.HTTPRequest, metrics: RunnerMetrics, health: RunnerHealth)
    -> FlyingFox.HTTPResponse
  {
    guard request.method == .GET || request.method == .HEAD else {
      return FlyingFox.HTTPResponse(statusCode: .methodNotAllowed)
    }
    switch request.path {
    case "/metrics":
      return FlyingFox.HTTPResponse(
        statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: Data(metrics.render().utf8))
    case "/health/live":
      return FlyingFox.HTTPResponse(statusCode: .ok, body: Data("alive\n".utf8))
    case "/health/ready":
      return health.isReady
        ? FlyingFox.HTTPResponse(statusCode: .ok, body: Data("ready\n".utf8))
        : FlyingFox.HTTPResponse(
          statusCode: .serviceUnavailable,
          body: Data("not ready: GitLab did not answer the last job request\n".utf8))
    default:
      return FlyingFox.HTTPResponse(statusCode: .notFound)
    }
  }
}

/// `--listen-address`: `:9252`, `0.0.0.0:9252`, `127.0.0.1:9252` or `[::1]:9252`.
struct ListenAddress: Sendable, Equatable {
  enum Host: Sendable, Equatable {
    case any
    case ip4(String)
    case ip6(String)
  }

  var host: Host
  var port: UInt16

  init(host: Host, port: UInt16) {
    self.host = host
    self.port = port
  }

  init(parsing text: String) throws(SettingsError) {
    let invalid = SettingsError.invalid(
      "listen-address", text, expected: "HOST:PORT, :PORT or [IPv6]:PORT, e.g. :9252 or 127.0.0.1:9252")
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
      throw invalid
    }
    let hostText = String(text[..<colon])
    self.port = port
    if hostText.isEmpty || hostText == "0.0.0.0" {
      host = .any
    } else if hostText.hasPrefix("["), hostText.hasSuffix("]") {
      host = .ip6(String(hostText.dropFirst().dropLast()))
    } else if hostText == "localhost" {
      host = .ip4("127.0.0.1")
    } else if hostText.split(separator: ".").count == 4,
      hostText.split(separator: ".").allSatisfy({ UInt8($0) != nil })
    {
      host = .ip4(hostText)
    } else {
      throw invalid
    }
  }
}
