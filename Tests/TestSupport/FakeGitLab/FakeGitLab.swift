/// A strict, in-process fake of GitLab's runner API (`/api/v4/runners…`, `/api/v4/jobs…`), on
/// 127.0.0.1 with a random port, for tests that drive a runner against it.
///
/// ```swift
/// try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .seconds(2))) { gitlab in
///   await gitlab.addRunnerToken("glrt-test-token")
///   let job = await gitlab.enqueue(
///     FakeJob(name: "boot", script: ["submit lava-job.yaml"])
///       .variable(.init("LAVA_TOKEN", "secret", masked: true))
///       .artifact(.init(paths: ["results/"], when: "always"))
///       .dependency(.init(id: 7, name: "build", archive: .files(["image.txt": "v1"]))))
///   // … run the runner against `await gitlab.url` (the GitLab URL, without /api/v4) …
///   let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
///   #expect(result.status == .success)
///   #expect(await gitlab.traceText(of: job.id).contains("Job succeeded"))
///   #expect(try await gitlab.uploads(of: job.id).first?.zipEntries()["results/x.xml"] != nil)
///   #expect(await gitlab.violations.isEmpty)
/// }
/// ```
/// (`start()`/`stop()` do the same by hand.) Tests act as GitLab's users: `cancel(jobID:)`,
/// `forceCancel(jobID:)`, `removeRunner(token:)`, `setPaused(_:runnerToken:)`; and as a flaky network:
/// `Configuration.faults` (a seeded share of 500/502/503/dropped connections per endpoint) or
/// `failNext(_:with:times:)`. `Archives` builds and reads zip and gzip data.
///
/// Strict: every protocol mistake the runner makes (a wrong job token, bad JSON, a bad or duplicated
/// `Content-Range`, a final update whose checksum does not match the log, an unknown
/// `failure_reason`, an unknown path, …) is answered as GitLab answers it *and* recorded in
/// `violations`. Authentication failures with a *runner* token are not violations (the runner cannot
/// know its token was removed); job-token mismatches are (the runner got the token from us).
/// Faults injected on purpose happen before a request is processed, change no state and are never
/// violations.
///
/// Behaviour copied from GitLab (`lib/api/ci/runner.rb`, `Ci::AppendBuildTraceService`,
/// `Ci::UpdateBuildStateService`): a trace patch must start at the current length (else 416 with
/// `Range: 0-<length>`); per-job calls answer 403 with `Job-Status` once the job is neither running
/// nor canceling; a final update carrying a checksum may be answered 202 (retry after
/// `X-GitLab-Trace-Update-Interval`) until GitLab has the whole log; a runner that advertised
/// `cancel_gracefully` sees `Job-Status: canceling` on a cancel, others lose the job token at once;
/// jobs needing a feature the runner did not advertise are failed with `runner_unsupported`.
///
/// FlyingFox does not answer `Expect: 100-continue`: a client that sends it waits for its own
/// timeout (libcurl: 1 s) before sending the body. Send `Expect:` (empty) to avoid the delay.
import FlyingFox
import FlyingSocks
import Foundation

public actor FakeGitLab {
  public struct Configuration: Sendable {
    /// How long `jobs/request` is held when `last_update` is current and nothing is queued
    /// (GitLab's Workhorse holds up to ~50 s).
    public var longPollTimeout: Duration = .seconds(2)
    /// Seconds, sent as `X-GitLab-Trace-Update-Interval` on trace patches.
    public var traceUpdateInterval: Int = 3
    /// A trace patch above this is a violation (the runner must split its log).
    public var maxTracePatchBytes: Int = 1 << 20
    /// Uploads above this answer 413.
    public var maxArtifactBytes: Int = 100 << 20
    /// How many final updates carrying a checksum answer 202 before GitLab accepts one (GitLab
    /// answers 202 while live trace chunks are still being persisted).
    public var finalUpdateAcceptRounds: Int = 0
    /// Seconds, `X-GitLab-Trace-Update-Interval` on a 202 to a final update.
    public var finalUpdateBackoff: Int = 1
    /// How long GitLab waits for a log it does not fully hold before it finalizes anyway.
    public var finalUpdateAcceptTimeout: Duration = .seconds(300)
    public var projectID: Int64 = 42
    public var projectName: String = "lava-tests"
    public var tokenMaskPrefixes: [String] = [
      "glpat-", "gloas-", "gldt-", "glrt-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-", "glsoat-",
    ]
    /// Host name used in the object-storage redirect (a different port in any case).
    public var objectStorageHost: String = "127.0.0.1"
    public var faults: FaultPlan = .none

    public init(
      longPollTimeout: Duration = .seconds(2), traceUpdateInterval: Int = 3, finalUpdateAcceptRounds: Int = 0,
      maxArtifactBytes: Int = 100 << 20, faults: FaultPlan = .none
    ) {
      self.longPollTimeout = longPollTimeout
      self.traceUpdateInterval = traceUpdateInterval
      self.finalUpdateAcceptRounds = finalUpdateAcceptRounds
      self.maxArtifactBytes = maxArtifactBytes
      self.faults = faults
    }
  }

  public struct Runner: Sendable, Equatable {
    public let id: Int64
    public let token: String
    public var systemIDs: Set<String> = []
    public var paused = false
    /// What `POST runners` asked for; nil for runners added with `addRunnerToken` (created in the UI).
    public var registration: RunnerRegistrationRecord?
  }

  let configuration: Configuration
  var faultInjector: FaultInjector
  var servers: (api: HTTPServer, storage: HTTPServer)?
  var serverTasks: [Task<Void, any Error>] = []
  var apiPort: UInt16 = 0
  var storagePort: UInt16 = 0
  var objectStorageOverride: URL?

  var runners: [String: Runner] = [:]
  var registrationTokens: Set<String> = []
  /// GitLab 17.0+ disables registration tokens unless an administrator allows them: `POST runners` answers 410.
  var registrationTokensAllowed = true
  var removedRunnerTokens: Set<String> = []
  var nextRunnerID: Int64 = 1
  /// Per runner token: the `info.features` of its last `jobs/request`.
  public internal(set) var advertisedFeatures: [String: [String: Bool]] = [:]

  var jobs: [Int64: JobRecord] = [:]
  var queue: [Int64] = []
  var nextJobID: Int64 = 1000
  var queueVersion = 0
  let lastUpdatePrefix = FakeGitLab.randomToken(length: 8)
  var archives: [Int64: DependencyArchive] = [:]
  /// Per dependency id: downloads answered by GitLab, and by the object storage after a redirect.
  public internal(set) var downloads: [Int64: Int] = [:]
  public internal(set) var objectStorageDownloads: [Int64: Int] = [:]

  public internal(set) var violations: [String] = []
  public internal(set) var uploads: [ArtifactUpload] = []
  /// Uploads of an artifact GitLab already had, byte for byte: GitLab answers 201 and keeps the
  /// one it has (`Ci::JobArtifacts::CreateService`: the same sha256 is a success).
  public internal(set) var identicalReuploads: [ArtifactUpload] = []
  /// Uploads the test asked to hold (``holdNextUpload(of:artifactType:_:)``).
  var heldUploads: [HeldUpload] = []
  public internal(set) var injectedFaults: [InjectedFault] = []
  /// Answered requests, oldest first.
  public internal(set) var requests: [RequestRecord] = []
  /// `jobs/request` calls being held by the long poll right now (lets a test enqueue while one waits).
  public internal(set) var heldLongPolls = 0

  public init(configuration: Configuration = .init()) {
    self.configuration = configuration
    self.faultInjector = FaultInjector(plan: configuration.faults)
  }

  /// How long a start may wait for a host to listen: FlyingFox's 5 s default is too short when
  /// the parallel unit tier starts every test at once on a loaded machine (seen on one core).
  static let listeningTimeout: TimeInterval = 60

  /// Starts both hosts (the API and the object storage) and returns when they listen.
  public func start() async throws {
    guard servers == nil else { return }
    let api = try Self.makeServer(timeout: configuration.longPollTimeout) { [self] request in
      await self.handleAPI(request)
    }
    let storage = try Self.makeServer(timeout: .seconds(30)) { [self] request in
      await self.handleObjectStorage(request)
    }
    servers = (api, storage)
    for server in [api, storage] {
      serverTasks.append(Task { try await server.run() })
    }
    try await api.waitUntilListening(timeout: Self.listeningTimeout)
    try await storage.waitUntilListening(timeout: Self.listeningTimeout)
    apiPort = try await Self.port(of: api)
    storagePort = try await Self.port(of: storage)
  }

  /// Stops both hosts; requests in flight are cut.
  public func stop() async {
    guard let servers else { return }
    self.servers = nil
    endHolds(connectionAlive: false)
    await servers.api.stop()
    await servers.storage.stop()
    for task in serverTasks { task.cancel() }
    for task in serverTasks { _ = await task.result }
    serverTasks = []
  }

  /// Runs `body` with a started fake and always stops it.
  public static func withRunning<T: Sendable>(
    configuration: Configuration = .init(), _ body: (FakeGitLab) async throws -> T
  ) async throws -> T {
    let fake = FakeGitLab(configuration: configuration)
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

  /// The GitLab URL a runner is started with (no `/api/v4`).
  public var url: URL { URL(string: "http://127.0.0.1:\(apiPort)")! }
  public var objectStorageURL: URL {
    objectStorageOverride ?? URL(string: "http://\(configuration.objectStorageHost):\(storagePort)")!
  }

  /// The object storage's port, for a proxy in front of it.
  public var objectStoragePort: UInt16 { storagePort }

  /// Redirects artifact downloads to `url` (e.g. a TLS proxy in front of `objectStoragePort`)
  /// instead of the object storage itself.
  public func redirectObjectStorage(to url: URL) {
    objectStorageOverride = url
  }

  // MARK: Runner tokens

  public func addRunnerToken(_ token: String) {
    guard runners[token] == nil else { return }
    runners[token] = Runner(id: nextRunnerID, token: token)
    nextRunnerID += 1
    removedRunnerTokens.remove(token)
  }

  public func addRegistrationToken(_ token: String) { registrationTokens.insert(token) }

  /// As when an administrator turns off "Allow runner registration token" (the default since GitLab 17.0).
  public func setRegistrationTokensAllowed(_ allowed: Bool) { registrationTokensAllowed = allowed }

  /// As when an admin deletes the runner in GitLab's UI: its token answers 403 from now on.
  public func removeRunner(token: String) {
    if runners.removeValue(forKey: token) != nil { removedRunnerTokens.insert(token) }
  }

  /// A paused runner authenticates but gets no jobs (GitLab answers 204).
  public func setPaused(_ paused: Bool, runnerToken: String) {
    runners[runnerToken]?.paused = paused
  }

  public var registeredRunners: [Runner] { runners.values.sorted { $0.id < $1.id } }

  // MARK: Jobs

  /// Queues a job; the id is the job's own or the next free one (ids may exceed 2^32).
  @discardableResult
  public func enqueue(_ job: FakeJob) -> EnqueuedJob {
    let id = job.id ?? nextJobID
    nextJobID = max(nextJobID, id) + 1
    precondition(jobs[id] == nil, "job \(id) already exists in the fake")
    let record = JobRecord(spec: job, token: "glcbt-" + Self.randomToken(length: 20))
    jobs[id] = record
    for dependency in job.dependencies {
      archives[dependency.id] = DependencyArchive(
        token: dependency.usesRunningJobToken
          ? record.token : dependency.token ?? "glcbt-" + Self.randomToken(length: 20),
        dependency: dependency)
    }
    queue.append(id)
    queueVersion += 1
    return EnqueuedJob(id: id, token: record.token)
  }

  /// Cancels a job as a user does in GitLab's UI: a pending job is dropped from the queue; a
  /// running job goes to `canceling` if its runner advertised `cancel_gracefully`, else straight
  /// to `canceled` (its token dies at once).
  public func cancel(jobID: Int64) {
    guard var job = jobs[jobID], !job.status.isFinished, job.status != .canceling else { return }
    if job.status == .pending {
      queue.removeAll { $0 == jobID }
      job.status = .canceled
    } else if job.runnerFeatures["cancel_gracefully"] == true {
      job.status = .canceling
    } else {
      job.status = .canceled
    }
    jobs[jobID] = job
    queueVersion += 1
  }

  /// GitLab's "force cancel": a `canceling` job becomes `canceled`, its token dies.
  public func forceCancel(jobID: Int64) {
    guard var job = jobs[jobID], job.status == .canceling else { return }
    job.status = .canceled
    jobs[jobID] = job
  }

  public func status(of jobID: Int64) -> FakeJobStatus? { jobs[jobID]?.status }
  /// The system_id of the runner manager the job was handed to (nil: not handed out yet).
  public func runnerSystemID(of jobID: Int64) -> String? { jobs[jobID]?.runnerSystemID }
  public func trace(of jobID: Int64) -> Data { jobs[jobID]?.trace ?? Data() }
  public func traceText(of jobID: Int64) -> String { String(decoding: trace(of: jobID), as: UTF8.self) }
  public func keepAliveCount(of jobID: Int64) -> Int { jobs[jobID]?.keepAlives ?? 0 }
  public func uploads(of jobID: Int64) -> [ArtifactUpload] { uploads.filter { $0.jobID == jobID } }

  /// The job's final state once it has one (the runner's final update was accepted, the job was
  /// canceled, or GitLab refused it); nil before.
  public func finalResult(of jobID: Int64) -> FakeJobResult? {
    guard let job = jobs[jobID], job.status.isFinished else { return nil }
    return FakeJobResult(
      status: job.status, reportedState: job.reportedState, failureReason: job.failureReason,
      exitCode: job.exitCode)
  }

  /// Waits (bounded by `timeout`) for the job's final state.
  public func result(of jobID: Int64, timeout: Duration) async throws -> FakeJobResult {
    let deadline = ContinuousClock.now + timeout
    while true {
      if let result = finalResult(of: jobID) { return result }
      guard ContinuousClock.now < deadline else {
        throw FakeGitLabError.timedOut(jobID: jobID, status: jobs[jobID]?.status)
      }
      try await Task.sleep(for: .milliseconds(10))
    }
  }

  // MARK: Faults

  public func setFaults(_ plan: FaultPlan) { faultInjector = FaultInjector(plan: plan) }

  /// The next `times` requests to `endpoint` get `fault`, whatever the plan says.
  public func failNext(_ endpoint: Endpoint, with fault: Fault, times: Int = 1) {
    faultInjector.scripted[endpoint, default: []].append(contentsOf: Array(repeating: fault, count: times))
  }

  // MARK: Internals shared by the handlers

  func violation(_ message: String) { violations.append(message) }

  var currentLastUpdate: String { "\(lastUpdatePrefix)-\(queueVersion)" }

  static func randomToken(length: Int) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    var generator = SystemRandomNumberGenerator()
    return String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
  }

  private static func makeServer(
    timeout: Duration, handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse
  ) throws -> HTTPServer {
    // The handler timeout must outlast the longest long poll, or FlyingFox answers 500 itself.
    let seconds = Double(timeout.components.seconds) + 30
    let config = HTTPServer.Configuration(
      address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: seconds, pool: NoDelaySocketPool(),
      logger: .disabled)
    return HTTPServer(config: config, handler: ClosureHTTPHandler { await handler($0) })
  }

  private static func port(of server: HTTPServer) async throws -> UInt16 {
    guard case .ip4(_, let port) = await server.listeningAddress else {
      throw FakeGitLabError.notListening
    }
    return port
  }
}

public enum FakeGitLabError: Error, CustomStringConvertible {
  case timedOut(jobID: Int64, status: FakeJobStatus?)
  case notListening
  case noHeldUpload(jobID: Int64)

  public var description: String {
    switch self {
    case .timedOut(let id, let status):
      "job \(id) has no final state yet (status: \(status?.rawValue ?? "unknown job")); the runner sent no "
        + "accepted final update in time: check the fake's violations and requests"
    case .notListening: "the fake GitLab did not get a listening address on 127.0.0.1"
    case .noHeldUpload(let id): "no artifact upload of job \(id) arrived to be held in time"
    }
  }
}

/// One request as the fake answered it (for debugging failing tests).
public struct RequestRecord: Sendable {
  public let method: String
  public let path: String
  public let status: Int
}

struct JobRecord {
  let spec: FakeJob
  let token: String
  var status: FakeJobStatus = .pending
  var runnerToken: String?
  /// The system_id of the runner manager that took the job.
  var runnerSystemID: String?
  var runnerFeatures: [String: Bool] = [:]
  var trace = Data()
  /// The reply to the last trace patch was dropped on purpose: a resend is expected.
  var lastTraceReplyLost = false
  var keepAlives = 0
  var pendingFinal: PendingFinalUpdate?
  var acceptRoundsUsed = 0
  var finishedByRunner = false
  var reportedState: String?
  var failureReason: String?
  var exitCode: Int?

  init(spec: FakeJob, token: String) {
    self.spec = spec
    self.token = token
  }
}

/// The first final update GitLab keeps while it waits for the whole log (`Ci::BuildPendingState`).
struct PendingFinalUpdate {
  let createdAt: ContinuousClock.Instant
  let state: String
  let checksum: String?
  let bytesize: Int?
  let failureReason: String?
}
