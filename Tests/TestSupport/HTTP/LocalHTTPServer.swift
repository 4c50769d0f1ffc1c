import FlyingFox
import Foundation

/// A request as a local test server saw it. FlyingFox's own types stay inside TestSupport:
/// their names (`HTTPRequest`, `HTTPClient`, ...) clash with the runner's.
public struct RecordedRequest: Sendable {
  public var method: String
  public var path: String
  /// The raw query string, if any.
  public var query: String
  public var headers: [(name: String, value: String)]
  public var body: Data

  /// The first value of `name`, compared without case.
  public func header(_ name: String) -> String? {
    headers.first { $0.name.lowercased() == name.lowercased() }?.value
  }
}

/// What a local test server answers.
public struct CannedReply: Sendable {
  public var status: Int
  public var headers: [String: String]
  public var body: Data

  public init(status: Int = 200, headers: [String: String] = [:], body: Data = Data()) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  public static func text(_ text: String, status: Int = 200) -> CannedReply {
    CannedReply(status: status, headers: ["Content-Type": "text/plain"], body: Data(text.utf8))
  }

  public static func redirect(_ status: Int, to location: String) -> CannedReply {
    CannedReply(status: status, headers: ["Location": location], body: Data("moved".utf8))
  }
}

/// Runs an HTTP server on 127.0.0.1 at a free port while `body` runs, then stops it.
///
/// `handler` answers every request; `body` gets the base URL (`http://127.0.0.1:PORT`).
@discardableResult
public func withLocalHTTPServer<Result: Sendable>(
  handler: @escaping @Sendable (RecordedRequest) async throws -> CannedReply,
  body: (URL) async throws -> Result
) async throws -> Result {
  let server = HTTPServer(
    address: try .inet(ip4: "127.0.0.1", port: 0), timeout: 60, logger: .disabled,
    handler: ClosureHTTPHandler { request in
      let recorded = RecordedRequest(
        method: request.method.rawValue,
        path: request.path,
        query: request.target.query(percentEncoded: true),
        headers: request.headers.map { (name: $0.key.rawValue, value: $0.value) },
        body: try await request.bodyData)
      let reply = try await handler(recorded)
      var headers = FlyingFox.HTTPHeaders()
      for (name, value) in reply.headers {
        headers.addValue(value, for: HTTPHeader(name))
      }
      return HTTPResponse(
        statusCode: HTTPStatusCode(reply.status, phrase: "Status \(reply.status)"),
        headers: headers, body: reply.body)
    })
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.run() }
    defer { group.cancelAll() }
    try await server.waitUntilListening(timeout: 60)
    guard case .ip4(_, let port) = await server.listeningAddress else {
      throw LocalServerError.noPort
    }
    let result = try await body(URL(string: "http://127.0.0.1:\(port)")!)
    await server.stop()
    return result
  }
}

public enum LocalServerError: Error {
  case noPort
}

/// A value shared between a test and its server's handlers.
public final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  public init(_ value: Value) { self.value = value }

  public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }

  public var current: Value { withLock { $0 } }
}
