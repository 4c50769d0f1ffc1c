import Foundation

/// What a command needs of LAVA, provided by the runner through ``JobContext/lava``.
public protocol LAVAConnector: Sendable {
  /// The client for one LAVA server and token; clients are shared by every job of the process
  /// that names the same server and token, with a cap on concurrent requests per server.
  func server(url: URL, token: String) throws -> any LAVAServer

  /// The process's watcher of that server's jobs, seen through `token`; nil when the
  /// connector has none (commands then ask each job's state themselves).
  func watcher(url: URL, token: String) throws -> (any LAVAJobWatcher)?

  /// Problems of a LAVA job definition as LAVA would see them: libyaml syntax errors and
  /// LAVA's structure rules, each `name:line:column: message` with the offending line.
  /// Empty when the definition is fine. Asynchronous because reading a large definition is
  /// CPU-bound work that must not hold a thread of the pool that runs every job.
  func problems(inDefinition text: String, name: String) async -> [String]

  /// `text` read as YAML into a tree with positions (the first document; nil when it has none),
  /// for small files a command reads such as `LAVA_KNOWN_ISSUES`. Errors are
  /// ``YAMLTreeError``s naming `name:line:column`.
  func yamlTree(of text: String, name: String) async throws(YAMLTreeError) -> YAMLTree?
  /// The job timeout a definition asks for (`timeouts: job:`); nil when it has no valid one.
  /// For a definition ``problems(inDefinition:name:)`` found fine.
  func jobTimeout(inDefinition text: String) async -> Duration?

  /// How long a job waits out an unreachable or failing LAVA server before it fails, unless the
  /// job's LAVA_OUTAGE_TIMEOUT says otherwise (`--lava-outage-timeout`).
  var outagePatience: Duration { get }
}

/// The LAVA outage budget's default: long enough for a LAVA upgrade or a web server restart,
/// short enough that a dead server fails a pipeline within minutes.
public enum LAVAOutage {
  public static let defaultPatience: Duration = .seconds(600)
}

extension LAVAConnector {
  public var outagePatience: Duration { LAVAOutage.defaultPatience }
}

/// One LAVA server as the token's user sees it (REST API v0.2). Errors thrown conform to
/// ``JobFailure`` and say whether the job definition or the infrastructure is at fault.
public protocol LAVAServer: Sendable {
  /// The server's address, e.g. `https://lava.example.com/`.
  var url: URL { get }

  /// Submits a definition; a multinode definition gives several ids.
  func submit(definition: String) async throws -> [Int64]

  func job(_ id: Int64) async throws -> LAVAJob

  /// Several jobs in one request per page.
  func jobs(_ ids: [Int64]) async throws -> [LAVAJob]

  /// Those of `ids` whose state is one of `states`, in one request per page (`state__in=`):
  /// much cheaper for LAVA than ``jobs(_:)`` when few match. A job left out is not in those
  /// states (or not shown to the token); a server that ignores the filter may list the others
  /// too, with their true states.
  func jobs(_ ids: [Int64], inStates states: Set<LAVAJobState>) async throws -> [LAVAJob]

  /// The jobs whose description (the definition's `job_name`) contains `marker`, in id order:
  /// how a runner that died while submitting finds out whether LAVA received the definition
  /// (`jobs/?description__contains=`). `marker` is made of ASCII letters, digits and `-` only.
  func jobs(describedWith marker: String) async throws -> [LAVAJob]

  /// Log lines from line `start` (0-based); empty when there is none yet.
  func logLines(of id: Int64, from start: Int) async throws -> [LAVALogLine]

  /// The lines ``logLines(of:from:)`` would give, handed to `page` one reply at a time, each
  /// before the next is asked for: memory does not grow with how far behind the caller is. A
  /// failure after some pages is thrown once they were handed over; the caller, which counts
  /// what it consumed, asks again from there.
  func logPages(of id: Int64, from start: Int, _ page: ([LAVALogLine]) async throws -> Void) async throws

  /// The job's results as JUnit XML, written to `file`.
  func downloadJUnit(of id: Int64, to file: URL) async throws

  /// The job's test cases with their results.
  func testCases(of id: Int64) async throws -> [LAVATestCase]

  /// Asks LAVA to cancel the job (fine when it has already ended).
  func cancel(_ id: Int64) async throws

  /// The job's page, for links in the job log.
  func webURL(of id: Int64) -> URL

  /// How busy `deviceType` is, for a job `id` that waited too long in the queue: its devices
  /// and the jobs still waiting for it that were submitted before `id`.
  func queue(ofDeviceType deviceType: String, before id: Int64) async throws -> LAVADeviceTypeQueue
}

/// The facts a job stuck in LAVA's queue is explained with (`devices/?device_type=` and
/// `jobs/?state=Submitted&requested_device_type=`).
public struct LAVADeviceTypeQueue: Sendable, Equatable {
  public var deviceType: String
  /// Devices of the type, whatever their health.
  public var devices: Int
  /// Devices LAVA may schedule on: health Good or Unknown.
  public var online: Int
  /// Of those, the ones idle now.
  public var idle: Int
  /// Jobs for the type still waiting (state Submitted) that were submitted before the one asked about.
  public var jobsAhead: Int

  public init(deviceType: String, devices: Int, online: Int, idle: Int, jobsAhead: Int) {
    self.deviceType = deviceType
    self.devices = devices
    self.online = online
    self.idle = idle
    self.jobsAhead = jobsAhead
  }

  /// `device type qemu: 2 devices, 1 online (0 idle); 3 jobs ahead in the queue`.
  public var description: String {
    func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
    return "device type \(deviceType): \(count(devices, "device")), \(online) online (health Good or "
      + "Unknown), \(idle) of them idle; \(count(jobsAhead, "job")) ahead in the queue"
  }
}

extension LAVAServer {
  /// ``jobs(_:)``, keeping those in `states`: right for any server, at the cost of the whole read.
  public func jobs(_ ids: [Int64], inStates states: Set<LAVAJobState>) async throws -> [LAVAJob] {
    try await jobs(ids).filter { states.contains($0.state) }
  }

  public func webURL(of id: Int64) -> URL {
    url.appendingPathComponent("scheduler/job/\(id)")
  }

  /// One page: what ``logLines(of:from:)`` gives, when there is any.
  public func logPages(of id: Int64, from start: Int, _ page: ([LAVALogLine]) async throws -> Void)
    async throws
  {
    let lines = try await logLines(of: id, from: start)
    if !lines.isEmpty { try await page(lines) }
  }
}

public struct LAVAJob: Sendable, Equatable {
  public var id: Int64
  public var state: LAVAJobState
  public var health: LAVAJobHealth
  public var description: String
  public var deviceType: String?
  public var device: String?
  public var failureComment: String?
  /// When LAVA received, started and ended the job, as LAVA writes them (ISO 8601, UTC);
  /// nil until it happened or when the server does not say.
  public var submitTime: String?
  public var startTime: String?
  public var endTime: String?

  public init(
    id: Int64, state: LAVAJobState, health: LAVAJobHealth, description: String = "",
    deviceType: String? = nil,
    device: String? = nil, failureComment: String? = nil,
    submitTime: String? = nil, startTime: String? = nil, endTime: String? = nil
  ) {
    self.id = id
    self.state = state
    self.health = health
    self.description = description
    self.deviceType = deviceType
    self.device = device
    self.failureComment = failureComment
    self.submitTime = submitTime
    self.startTime = startTime
    self.endTime = endTime
  }
}

public enum LAVAJobState: String, Sendable, CaseIterable {
  case submitted = "Submitted"
  case scheduling = "Scheduling"
  case scheduled = "Scheduled"
  case running = "Running"
  case canceling = "Canceling"
  case finished = "Finished"
}

public enum LAVAJobHealth: String, Sendable, CaseIterable {
  case unknown = "Unknown"
  case complete = "Complete"
  case incomplete = "Incomplete"
  case canceled = "Canceled"
}

/// One line of a LAVA job log: the text as LAVA sent it and, when it could be parsed, its parts.
public struct LAVALogLine: Sendable, Equatable {
  /// The line as served (`- {"dt": …, "lvl": …, "msg": …}`), for the raw log artifact.
  public var raw: String
  /// Nil when the line could be parsed neither as JSON nor as YAML: show it raw.
  public var entry: LAVALogEntry?

  public init(raw: String, entry: LAVALogEntry?) {
    self.raw = raw
    self.entry = entry
  }
}

public struct LAVALogEntry: Sendable, Equatable {
  /// `dt`, e.g. `2026-11-29T01:38:32.619219`.
  public var timestamp: String
  /// `lvl`: info, debug, target, input, results, warning, error, feedback, exception, …
  public var level: String
  public var message: LAVALogMessage

  public init(timestamp: String, level: String, message: LAVALogMessage) {
    self.timestamp = timestamp
    self.level = level
    self.message = message
  }
}

public enum LAVALogMessage: Sendable, Equatable {
  case text(String)
  case lines([String])
  /// A `results` line: `case`, `definition`, `result`, and the rest, values as text.
  case result([String: String])
  /// Anything else, shown as compact JSON-like text.
  case other(String)
}

public struct LAVATestCase: Sendable, Equatable {
  public var suite: String
  public var name: String
  /// pass, fail, skip, unknown.
  public var result: String
  public var measurement: String?
  public var units: String?

  public init(suite: String, name: String, result: String, measurement: String? = nil, units: String? = nil) {
    self.suite = suite
    self.name = name
    self.result = result
    self.measurement = measurement
    self.units = units
  }
}

/// A LAVA reply larger than the runner takes in; the transfer was stopped at `limit` bytes.
/// Thrown by ``LAVAServer`` calls and never worth retrying: the same request gets the same
/// reply.
public struct LAVAReplyTooLarge: JobFailure, Equatable {
  /// The request, e.g. `GET https://lava.example.com/api/v0.2/jobs/12/junit/`.
  public var request: String
  public var limit: Int

  public init(request: String, limit: Int) {
    self.request = request
    self.limit = limit
  }

  public var failureReason: FailureReason { .runnerSystemFailure }

  public var limitText: String { Self.sizeText(limit) }

  /// `bytes` in MiB when it is a whole number of them, else in bytes.
  public static func sizeText(_ bytes: Int) -> String {
    bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
  }

  public var description: String {
    "LAVA's reply to \(request) is larger than the \(limitText) lava-runner accepts; it was cut off there"
  }
}
