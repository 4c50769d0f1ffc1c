import Protocols

/// Why a websocket could not be opened or was lost. Messages name the server's URL masked and
/// never quote a header value beyond the status line.
package enum WebSocketError: Error, Equatable, CustomStringConvertible {
  /// libcurl could not connect (refused, DNS, TLS, proxy, timeout).
  case connectFailed(String)
  /// No whole handshake reply within the time allowed.
  case handshakeTimedOut(Duration)
  /// The server answered the upgrade request with an ordinary HTTP status (404: no stream there).
  case notUpgraded(status: Int)
  /// The reply switched protocols but not as RFC 6455 asks (wrong accept key, no Upgrade header…).
  case badHandshake(String)
  case protocolViolation(String)
  case messageTooLarge(limit: Int)
  case closedByServer(code: UInt16?, reason: String)
  /// The connection ended without a close frame, or stayed silent past the ping deadline.
  case connectionLost(String)

  package var description: String {
    switch self {
    case .connectFailed(let detail): "the websocket could not connect: \(detail)"
    case .handshakeTimedOut(let limit):
      "the websocket handshake got no complete reply within \(DurationText.format(limit))"
    case .notUpgraded(let status):
      "the server answered the websocket upgrade with HTTP \(status) instead of 101 Switching Protocols"
    case .badHandshake(let detail): "the websocket handshake reply is not valid: \(detail)"
    case .protocolViolation(let detail): "the websocket server broke the protocol: \(detail)"
    case .messageTooLarge(let limit): "the websocket server sent a message larger than \(limit) bytes"
    case .closedByServer(let code, let reason):
      "the websocket server closed the connection"
        + (code.map { " (code \($0)" + (reason.isEmpty ? ")" : ": \(reason))") } ?? "")
    case .connectionLost(let detail): "the websocket connection was lost: \(detail)"
    }
  }

  /// Whether asking again later may work: a server without a stream (404, no upgrade) is asked
  /// again only rarely by callers.
  package var streamAbsent: Bool {
    switch self {
    case .notUpgraded, .badHandshake: true
    default: false
    }
  }
}
