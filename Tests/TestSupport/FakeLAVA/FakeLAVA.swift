/// A strict, in-process fake of LAVA's REST API v0.2 on 127.0.0.1 with a random port, for tests
/// of the LAVA client and of the commands.
///
/// ```swift
/// try await FakeLAVA.withRunning(token: "secret") { lava in
///   let id = await lava.addJob(FakeLAVAJob(state: "Running"))
///   await lava.appendLog(id, ["- {\"dt\": \"…\", \"lvl\": \"info\", \"msg\": \"hello\"}"])
///   await lava.failNext(.logs, with: 503, times: 2)
///   // … point a client at `await lava.url` …
///   #expect(await lava.maxRequestsInFlight <= 4)
///   #expect(await lava.violations.isEmpty)
/// }
/// ```
///
/// What LAVA does, the fake does: every call needs `Authorization: Token <token>` (403
/// `{"detail":"Invalid token."}` otherwise); logs answer 404 `{"detail":"Not found."}` when no
/// line exists at or after `start`; `cancel/` is a GET and answers an unknown id with a 500
/// HTML page; lists are paged (`limit`/`offset` for jobs, `page` for suites and tests) with
/// `next` links; a submitted definition without `actions` is refused with 400.
/// Strict: an unknown path, a wrong method or a missing trailing slash is answered as LAVA would
/// and recorded in `violations`. Injected faults change no state and are not violations.
import FlyingFox
import FlyingSocks
import Foundation

public struct FakeLAVAJob: Sendable {
  public var id: Int64 = 0
  public var state: String
  public var health: String
  public var description: String
  public var deviceType: String
  public var device: String?
  public var failureComment: String?
  /// Log lines as LAVA serves them, without newlines.
  public var log: [String] = []
  public var testCases: [FakeLAVATestCase] = []
  public var junit: String = "<testsuites/>"

  public init(
    state: String = "Submitted", health: String = "Unknown", description: String = "fake job",
    deviceType: String = "qemu", device: String? = nil, failureComment: String? = nil
  ) {
    self.state = state
    self.health = health
    self.description = description
    self.deviceType = deviceType
    self.device = device
    self.failureComment = failureComment
  }
}

public struct FakeLAVATestCase: Sendable, Equatable {
  public var suite: String
  public var name: String
  public var result: String
  public var measurement: String?
  public var unit: String

  public init(suite: String, name: String, result: String, measurement: String? = nil, unit: String = "") {
    self.suite = suite
    self.name = name
    self.result = result
    self.measurement = measurement
    self.unit = unit
  }
}

public actor FakeLAVA {
  public enum Endpoint: String, Sendable, CaseIterable {
    case version, submit, jobList, job, logs, junit, suites, tests, cancel, devices
  }

  public enum Fault: Sendable, Equatable {
    case status(Int, retryAfter: Int? = nil)
    /// The connection is closed with nothing written.
    case dropConnection
    /// A JSON reply chosen by the test, as a broken proxy or server might give it.
    case reply(Int, body: String)
  }

  public struct RequestRecord: Sendable, Equatable {
    public var endpoint: Endpoint?
    public var method: String
    public var path: String
    public var query: String
    public var status: Int
  }

  public let token: String
  /// How long each answer is held, so that requests overlap and the cap can be seen.
  public var responseDelay: Duration = .zero
  /// Items per page of `jobs/` (LAVA: 50), `suites/` and `tests/`.
  public var pageSize = 50
  /// The largest `limit` a client may ask for (Django REST framework's `max_limit`); nil: any.
  public var maxLimit: Int?
  /// The scheme, host and port of `next` links, as a LAVA behind a misconfigured proxy builds
  /// them (e.g. `http://lava.internal:8000`); nil for the fake's own.
  public var nextLinkOrigin: String?

  public internal(set) var jobs: [Int64: FakeLAVAJob] = [:]
  /// Whether `jobs/` ignores `state__in=` (as a server older than the filter would): every
  /// asked job is listed.
  public var ignoresStateFilter = false
  /// What `devices/` lists: hostname, device type, health, state.
  public internal(set) var devices: [(hostname: String, deviceType: String, health: String, state: String)] =
    []
  public internal(set) var submittedDefinitions: [String] = []
  /// Per job created by a submission: the definition it was made from.
  public internal(set) var definitions: [Int64: String] = [:]
  public internal(set) var violations: [String] = []
  public internal(set) var requests: [RequestRecord] = []
  public internal(set) var requestsInFlight = 0
  public internal(set) var maxRequestsInFlight = 0
  public internal(set) var injectedFaults: [(Endpoint, Fault)] = []
  var faults: [Endpoint: [Fault]] = [:]
  /// The event stream at `/ws/` (FakeLAVA+Events.swift); every state change is published there.
  public nonisolated let events = FakeLAVAEvents()
  var nextJobID: Int64 = 1
  var server: HTTPServer?
  var serverTask: Task<Void, any Error>?
  var port: UInt16 = 0

  public init(token: String) {
    self.token = token
  }

  public var url: URL { URL(string: "http://127.0.0.1:\(port)/")! }

  public func start() async throws {
    guard server == nil else { return }
    let config = HTTPServer.Configuration(
      address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 60, logger: .disabled)
    let server = HTTPServer(config: config, handler: ClosureHTTPHandler { [self] in await self.handle($0) })
    self.server = server
    serverTask = Task { try await server.run() }
    try await server.waitUntilListening(timeout: 60)
    guard case .ip4(_, let port) = await server.listeningAddress else { throw FakeLAVAError.notListening }
    self.port = port
  }

  public func stop() async {
    guard let server else { return }
    self.server = nil
    await server.stop()
    serverTask?.cancel()
    _ = await serverTask?.result
    serverTask = nil
  }

  /// Runs `body` with a started fake and always stops it.
  public static func withRunning<T: Sendable>(
    token: String, _ body: (FakeLAVA) async throws -> T
  ) async throws -> T {
    let fake = FakeLAVA(token: token)
    try await fake.start()
    do {
      let value = try await body(fake)
      await fake.stop()
      return value
    } catch {
      await fake.stop()
      throw error
    }
  }

  // MARK: test controls

  public func setResponseDelay(_ delay: Duration) { responseDelay = delay }
  public func setPageSize(_ size: Int) { pageSize = max(1, size) }
  public func setMaxLimit(_ limit: Int?) { maxLimit = limit.map { max(1, $0) } }
  public func setNextLinkOrigin(_ origin: String?) { nextLinkOrigin = origin }

  public func addDevice(_ hostname: String, type: String, health: String = "Good", state: String = "Idle") {
    devices.append((hostname, type, health, state))
  }

  public func setDeviceState(_ hostname: String, _ state: String) {
    for index in devices.indices where devices[index].hostname == hostname { devices[index].state = state }
  }

  @discardableResult
  public func addJob(_ job: FakeLAVAJob) -> Int64 {
    var job = job
    job.id = nextJobID
    nextJobID += 1
    jobs[job.id] = job
    events.publish(job)
    return job.id
  }

  public func update(_ id: Int64, _ change: (inout FakeLAVAJob) -> Void) {
    guard var job = jobs[id] else { return }
    let before = job
    change(&job)
    jobs[id] = job
    if (before.state, before.health, before.device) != (job.state, job.health, job.device) {
      events.publish(job)
    }
  }

  public func setIgnoresStateFilter(_ ignores: Bool) { ignoresStateFilter = ignores }

  /// The job is gone (deleted, or no longer shown to the token), without an event.
  public func removeJob(_ id: Int64) { jobs[id] = nil }

  public func appendLog(_ id: Int64, _ lines: [String]) {
    jobs[id]?.log += lines
  }

  /// The next `times` requests to `endpoint` get `fault` instead of an answer.
  public func failNext(_ endpoint: Endpoint, with fault: Fault, times: Int = 1) {
    faults[endpoint, default: []] += Array(repeating: fault, count: times)
  }

  public func failNext(_ endpoint: Endpoint, with status: Int, times: Int = 1) {
    failNext(endpoint, with: .status(status), times: times)
  }

  public func requests(to endpoint: Endpoint) -> [RequestRecord] {
    requests.filter { $0.endpoint == endpoint }
  }

  func violation(_ text: String) { violations.append(text) }
}

public enum FakeLAVAError: Error, CustomStringConvertible {
  case notListening

  public var description: String { "the fake LAVA server did not start listening" }
}
