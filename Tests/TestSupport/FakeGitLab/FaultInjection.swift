import FlyingFox
import Foundation

/// The API calls a fault can be aimed at.
public enum Endpoint: String, Sendable, CaseIterable, Hashable {
  case registerRunner, verifyRunner, unregisterRunner, unregisterRunnerManager
  case requestJob, updateJob, patchTrace, uploadArtifacts, downloadArtifacts, objectStorage
}

/// A reply the fake gives instead of processing a request.
public enum Fault: Sendable, Equatable {
  case status(Int)
  /// A status with `Retry-After: seconds` (429, 503).
  case retryAfter(status: Int, seconds: Int)
  /// Close the connection without any response byte.
  case dropConnection
  /// Process the request, then close the connection without a reply: the client cannot know its
  /// request took effect (a trace patch resent after this gets 416 and is no violation).
  case dropConnectionAfterProcessing
}

/// A deterministic share of replies replaced by faults: the same seed gives the same faults for
/// the same sequence of requests.
public struct FaultPlan: Sendable {
  public var seed: UInt64
  /// 0…1: the share of eligible requests that get a fault.
  public var rate: Double
  public var faults: [Fault]
  public var endpoints: Set<Endpoint>

  public init(
    seed: UInt64, rate: Double,
    faults: [Fault] = [.status(500), .status(502), .status(503), .dropConnection],
    endpoints: Set<Endpoint> = Set(Endpoint.allCases)
  ) {
    self.seed = seed
    self.rate = rate
    self.faults = faults
    self.endpoints = endpoints
  }

  public static let none = FaultPlan(seed: 0, rate: 0, faults: [], endpoints: [])
}

/// A fault the fake injected, for tests that check the runner coped with it.
public struct InjectedFault: Sendable, Equatable {
  public let endpoint: Endpoint
  public let fault: Fault

  public init(endpoint: Endpoint, fault: Fault) {
    self.endpoint = endpoint
    self.fault = fault
  }
}

struct FaultInjector {
  var plan: FaultPlan
  var generator: SplitMix64
  var scripted: [Endpoint: [Fault]] = [:]

  init(plan: FaultPlan) {
    self.plan = plan
    self.generator = SplitMix64(seed: plan.seed)
  }

  mutating func fault(for endpoint: Endpoint) -> Fault? {
    if var pending = scripted[endpoint], !pending.isEmpty {
      let fault = pending.removeFirst()
      scripted[endpoint] = pending
      return fault
    }
    guard plan.rate > 0, !plan.faults.isEmpty, plan.endpoints.contains(endpoint) else { return nil }
    let roll = Double(generator.next() >> 11) / Double(1 << 53)
    guard roll < plan.rate else { return nil }
    return plan.faults[Int(generator.next() % UInt64(plan.faults.count))]
  }
}

/// FlyingFox writes a response head only after a WebSocket handler made its frames; a handler that
/// throws there makes the server close the socket with nothing written: a dropped connection.
struct DropConnection: WSHandler {
  struct Dropped: Error {}
  func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
    throw Dropped()
  }
}

extension HTTPResponse {
  static func fault(_ fault: Fault) -> HTTPResponse {
    switch fault {
    case .dropConnection, .dropConnectionAfterProcessing:
      return HTTPResponse(webSocket: DropConnection())
    case .retryAfter(let code, let seconds):
      return .text(code, "\(code) injected fault", headers: [("Retry-After", String(seconds))])
    case .status(let code):
      return .text(code, "\(code) injected fault")
    }
  }

  static func text(_ code: Int, _ body: String, headers: [(String, String)] = []) -> HTTPResponse {
    var all = HTTPHeaders()
    all[.contentType] = "text/plain"
    for (name, value) in headers { all[HTTPHeader(name)] = value }
    return HTTPResponse(
      statusCode: HTTPStatusCode(code, phrase: phrase(code)), headers: all, body: Data(body.utf8))
  }

  static func empty(_ code: Int, headers: [(String, String)] = []) -> HTTPResponse {
    var all = HTTPHeaders()
    for (name, value) in headers { all[HTTPHeader(name)] = value }
    return HTTPResponse(statusCode: HTTPStatusCode(code, phrase: phrase(code)), headers: all)
  }

  /// GitLab's API errors: `{"message": "403 Forbidden"}`.
  static func apiError(_ code: Int, _ message: String, headers: [(String, String)] = []) -> HTTPResponse {
    json(code, ["message": message], headers: headers)
  }

  static func json(_ code: Int, _ object: Any, headers: [(String, String)] = []) -> HTTPResponse {
    var all = HTTPHeaders()
    all[.contentType] = "application/json"
    for (name, value) in headers { all[HTTPHeader(name)] = value }
    let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return HTTPResponse(statusCode: HTTPStatusCode(code, phrase: phrase(code)), headers: all, body: body)
  }

  static func phrase(_ code: Int) -> String {
    switch code {
    case 200: "OK"
    case 201: "Created"
    case 202: "Accepted"
    case 204: "No Content"
    case 302: "Found"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 409: "Conflict"
    case 413: "Payload Too Large"
    case 416: "Range Not Satisfiable"
    case 500: "Internal Server Error"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    default: "Status \(code)"
    }
  }
}
