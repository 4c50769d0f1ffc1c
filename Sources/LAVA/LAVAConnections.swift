import Foundation
import HTTP
import Protocols
import RunnerCore
import Synchronization
import YAML

/// The runner's LAVA side, shared by every job of the process: one client per server URL and
/// token, and one cap on requests in flight per server URL, shared by all its clients.
package final class LAVAConnections: LAVAConnector {
  private struct ClientKey: Hashable {
    package var server: String
    package var token: String
  }

  private struct Pool {
    package var clients: [ClientKey: LAVAClient] = [:]
    package var slots: [String: Slots] = [:]
    package var watchers: [String: LAVAWatcher] = [:]
  }

  private let http: HTTPClient
  private let metrics: RunnerMetrics
  private let maxConcurrentRequests: Int
  private let limits: LAVARequestLimits
  private let pool = Mutex(Pool())
  /// Whether watchers follow LAVA's event stream (`--lava-events`).
  private let events: Bool
  private let watcherTiming: LAVAWatcher.Timing
  /// How long a job waits out an unreachable LAVA unless its LAVA_OUTAGE_TIMEOUT says otherwise.
  package let outagePatience: Duration

  /// - Parameters:
  ///   - metrics: where every LAVA request and every followed job is counted.
  ///   - maxConcurrentRequests: requests in flight to one LAVA server from the whole process
  ///     (LAVA servers are easily overwhelmed); at least 1.
  ///   - outagePatience: how long a job waits out an unreachable LAVA by default.
  ///   - events: whether the watchers follow each server's event stream (`<LAVA_URL>/ws/`).
  package init(
    http: HTTPClient, metrics: RunnerMetrics, maxConcurrentRequests: Int = 4,
    limits: LAVARequestLimits = LAVARequestLimits(), outagePatience: Duration = LAVAOutage.defaultPatience,
    events: Bool = true, watcherTiming: LAVAWatcher.Timing = LAVAWatcher.Timing()
  ) {
    self.events = events
    self.watcherTiming = watcherTiming
    self.http = http
    self.metrics = metrics
    self.maxConcurrentRequests = max(1, maxConcurrentRequests)
    self.limits = limits
    self.outagePatience = outagePatience
  }

  package func server(url: URL, token: String) throws -> any LAVAServer {
    try client(url: url, token: token)
  }

  /// The server's one watcher, shared by every token; its requests for this token's jobs go
  /// through this token's client (and so under the server's request cap).
  package func watcher(url: URL, token: String) throws -> (any LAVAJobWatcher)? {
    let client = try client(url: url, token: token)
    let watcher = pool.withLock { pool in
      let key = client.url.absoluteString
      if let watcher = pool.watchers[key] { return watcher }
      let watcher = LAVAWatcher(
        url: client.url, events: events ? http.configuration : nil, metrics: metrics, timing: watcherTiming)
      pool.watchers[key] = watcher
      return watcher
    }
    return watcher.handle(client: client, key: token)
  }

  /// The pooled client for `url` (validated as LAVA_URL) and `token`.
  package func client(url: URL, token: String) throws(LAVAURLError) -> LAVAClient {
    let server = try Self.validatedServerURL(url)
    let key = ClientKey(server: server.absoluteString, token: token)
    return pool.withLock { pool in
      if let client = pool.clients[key] { return client }
      let slots = pool.slots[key.server] ?? Slots(maxConcurrentRequests)
      pool.slots[key.server] = slots
      let client = LAVAClient(
        url: server, token: token, http: http, slots: slots, metrics: metrics, limits: limits)
      pool.clients[key] = client
      return client
    }
  }

  /// Validated on a queue of its own, not on the cooperative pool: the pool has one thread per
  /// core and runs every job's polling and trace uploads, and a large definition takes a
  /// core for a while. One validation at a time, so hostile definitions never take more than one
  /// core; the others wait their turn without holding a pool thread.
  package func problems(inDefinition text: String, name: String) async -> [String] {
    await withCheckedContinuation { continuation in
      Self.validation.async {
        continuation.resume(returning: JobDefinitionValidator().findings(in: text, file: name).lines)
      }
    }
  }

  package func jobTimeout(inDefinition text: String) async -> Duration? {
    await withCheckedContinuation { continuation in
      Self.validation.async {
        continuation.resume(returning: JobDefinitionValidator().jobTimeout(in: text).map { .seconds($0) })
      }
    }
  }

  private static let validation = DispatchQueue(label: "lava-runner.definition-validation", qos: .utility)

  /// LAVA_URL as the clients use it: http or https, a host, no query or fragment, and a path
  /// ending in `/` (LAVA may live under a prefix, e.g. `https://host/lava/`). Userinfo is
  /// refused because it would be sent along and shown in links.
  package static func validatedServerURL(_ url: URL) throws(LAVAURLError) -> URL {
    guard var components = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
      throw .notAURL
    }
    guard let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
      throw .unsupportedScheme(components.scheme ?? "")
    }
    guard let host = components.host, !host.isEmpty else { throw .missingHost }
    guard components.user == nil, components.password == nil else { throw .credentialsInURL }
    guard components.query == nil, components.fragment == nil else {
      throw .queryOrFragment
    }
    components.scheme = scheme
    var path = components.percentEncodedPath
    // Users paste the API root too; the clients add it themselves.
    for suffix in ["/api/v0.2/", "/api/v0.2", "/RPC2/", "/RPC2"] where path.hasSuffix(suffix) {
      path.removeLast(suffix.count)
      break
    }
    if !path.hasSuffix("/") { path += "/" }
    components.percentEncodedPath = path
    guard let result = components.url else { throw .notAURL }
    return result
  }
}

/// Why LAVA_URL cannot be used. The URL itself is not repeated: it may hold credentials.
package enum LAVAURLError: JobFailure, Equatable {
  case notAURL
  case unsupportedScheme(String)
  case missingHost
  case credentialsInURL
  case queryOrFragment

  package var failureReason: FailureReason { .scriptFailure }

  package var description: String {
    let problem =
      switch self {
      case .notAURL: "is not a URL"
      case .unsupportedScheme(let scheme):
        scheme.isEmpty ? "has no scheme" : "uses the scheme '\(scheme)', not http or https"
      case .missingHost: "names no host"
      case .credentialsInURL: "contains a user name or password; put the API token in LAVA_TOKEN instead"
      case .queryOrFragment: "has a query or fragment (?… or #…)"
      }
    return "LAVA_URL \(problem). Set it to the LAVA server's address, e.g. https://lava.example.com/"
  }
}
