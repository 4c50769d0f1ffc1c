import Foundation
import Protocols

/// A scripted LAVA server in memory, strict about how it is used.
///
/// Each job follows a timeline of ``Step``s: every request for the job's state (``job(_:)`` or
/// ``jobs(_:)``) moves it one step on, and the last step stays. A step reveals how many log
/// lines exist, so the log grows as the job runs whatever the poll timing. Like the real client,
/// it refuses requests from a cancelled task. It notes as a protocol mistake a log request that
/// would skip lines or serve lines twice, and a request from a cancelled task.
public final class FakeLAVAServer: LAVAServer, @unchecked Sendable {
  public struct Step: Sendable {
    public var state: LAVAJobState
    public var health: LAVAJobHealth
    public var device: String?
    /// Log lines that exist at this step (nil: all of them).
    public var visibleLines: Int?

    public init(
      _ state: LAVAJobState, _ health: LAVAJobHealth = .unknown, device: String? = nil,
      visibleLines: Int? = nil
    ) {
      self.state = state
      self.health = health
      self.device = device
      self.visibleLines = visibleLines
    }
  }

  public struct ScriptedJob: Sendable {
    public var steps: [Step]
    public var lines: [LAVALogLine]
    public var testCases: [LAVATestCase]
    public var junit: String
    public var failureComment: String?
    /// What `downloadJUnit` throws instead of writing `junit`, e.g. ``LAVAReplyTooLarge``.
    public var junitFailure: (any Error & Sendable)?
    /// Each log request reveals one more line, whatever the steps say: a job printing steadily
    /// however seldom the runner reads, until it is canceled, when its log ends there.
    public var printsOnEachRead = false

    public init(
      steps: [Step], lines: [LAVALogLine] = [], testCases: [LAVATestCase] = [],
      junit: String = "<testsuites/>\n", failureComment: String? = nil,
      junitFailure: (any Error & Sendable)? = nil
    ) {
      self.steps = steps
      self.lines = lines
      self.testCases = testCases
      self.junit = junit
      self.failureComment = failureComment
      self.junitFailure = junitFailure
    }
  }

  /// An error as the real client raises them: a failure reason and a message.
  /// An error as the real client throws it: an infrastructure failure is an outage (asking
  /// again may help), anything else is final, unless `retryability` says otherwise.
  public struct FakeError: JobFailure, RetryClassified, Equatable {
    public var failureReason: FailureReason
    public var description: String
    public var retryability: Retryability
    public init(_ reason: FailureReason, _ description: String, retryability: Retryability? = nil) {
      self.failureReason = reason
      self.description = description
      self.retryability = retryability ?? (reason == .runnerSystemFailure ? .outage(retryAfter: nil) : .final)
    }
  }

  public struct ProtocolMistake: Error, CustomStringConvertible {
    public var description: String
  }

  public let url: URL
  private let lock = NSLock()
  private var scripted: [Int64: ScriptedJob] = [:]
  /// The job of every id not scripted (``passEveryJob()``); nil: LAVA's 404.
  private var unscripted: ScriptedJob?
  private var position: [Int64: Int] = [:]
  private var idsToSubmit: [Int64]
  private var submitError: FakeError?
  private var logFailures: [Int64: [Int: [FakeError]]] = [:]
  private var stateFailures: [FakeError] = []
  private var mistakes: [String] = []
  private var recorded: [String] = []
  private var submittedDefinitions: [String] = []
  private var submissions: [(definition: String, ids: [Int64])] = []
  private var canceledIDs: [Int64] = []
  private var servedLines: [Int64: Int] = [:]
  private var cancelDelay: Duration?
  private var pagesPerLogCall = 1
  private var laterSubmissions: [[Int64]] = []
  private var submitFailures: [FakeError] = []
  private var deviceTypeQueues: [String: LAVADeviceTypeQueue] = [:]
  /// Lines per ``logLines(of:from:)`` answer, as LAVA pages long logs.
  public let pageSize: Int

  public init(
    url: URL = URL(string: "https://lava.example.com/")!, submitting ids: [Int64] = [], pageSize: Int = 3
  ) {
    self.url = url
    self.idsToSubmit = ids
    self.pageSize = pageSize
  }

  public func script(_ id: Int64, _ job: ScriptedJob) {
    lock.withLock { scripted[id] = job }
  }

  /// Every job not scripted, whatever its id, runs on a device and finishes Complete with one
  /// passing test: the LAVA the commands' documented examples run against.
  public func passEveryJob() {
    let job = ScriptedJob(
      steps: [
        Step(.running, device: "qemu-01", visibleLines: 1), Step(.finished, .complete, device: "qemu-01"),
      ],
      lines: [
        .lava("info", "start: 1 boot"),
        .result(["definition": "0_smoke", "case": "boot", "result": "pass"]),
        .result(["definition": "lava", "case": "job", "result": "pass"]),
      ],
      testCases: [LAVATestCase(suite: "0_smoke", name: "boot", result: "pass")])
    lock.withLock { unscripted = job }
  }

  /// Called with the lock held.
  private func scriptedJob(_ id: Int64) -> ScriptedJob? { scripted[id] ?? unscripted }

  /// Cancel requests hang this long (a server that does not answer), unless their task is cancelled.
  public func delayCancels(by delay: Duration) { lock.withLock { cancelDelay = delay } }

  public func failSubmission(_ error: FakeError?) { lock.withLock { submitError = error } }

  /// Submissions are accepted again (``failNextSubmissions(with:)`` forgotten).
  public func clearSubmissionFailures() { lock.withLock { submitFailures.removeAll() } }

  /// The next `errors.count` submissions throw these, one each, and later ones are accepted.
  public func failNextSubmissions(with errors: [FakeError]) {
    lock.withLock { submitFailures.append(contentsOf: errors) }
  }

  /// The ids of the submissions after the first, one list each (a retried definition gets new
  /// LAVA jobs); once used up, submissions get the ids given to `init` again.
  public func thenSubmit(_ submissions: [Int64]...) {
    lock.withLock { laterSubmissions.append(contentsOf: submissions) }
  }

  /// What ``queue(ofDeviceType:before:)`` answers for `facts.deviceType`; other types: 404.
  public func setQueue(_ facts: LAVADeviceTypeQueue) {
    lock.withLock { deviceTypeQueues[facts.deviceType] = facts }
  }

  /// The next `errors.count` requests for the log of `id` from line `start` throw these.
  public func failLog(of id: Int64, from start: Int, with errors: [FakeError]) {
    lock.withLock { logFailures[id, default: [:]][start, default: []].append(contentsOf: errors) }
  }

  /// The next state requests (``job(_:)``/``jobs(_:)``) throw these, one each.
  public func failStates(with errors: [FakeError]) {
    lock.withLock { stateFailures.append(contentsOf: errors) }
  }

  public var requests: [String] { lock.withLock { recorded } }
  public var definitions: [String] { lock.withLock { submittedDefinitions } }
  public var canceled: [Int64] { lock.withLock { canceledIDs } }
  /// Ways the command misused the server; a test expects none.
  public var protocolMistakes: [String] { lock.withLock { mistakes } }

  private func enter(_ request: String) throws {
    if Task.isCancelled {
      lock.withLock { mistakes.append("\(request) sent from a cancelled task") }
      throw CancellationError()
    }
    lock.withLock { recorded.append(request) }
  }

  public func submit(definition: String) async throws -> [Int64] {
    try enter("submit")
    return try lock.withLock {
      if let submitError { throw submitError }
      if !submitFailures.isEmpty { throw submitFailures.removeFirst() }
      submittedDefinitions.append(definition)
      var ids = idsToSubmit
      if submittedDefinitions.count > 1, !laterSubmissions.isEmpty { ids = laterSubmissions.removeFirst() }
      submissions.append((definition, ids))
      return ids
    }
  }

  /// The jobs of every submission whose definition contains `marker`, as LAVA finds them by
  /// their description (the definition's `job_name`); asking does not move a job on.
  public func jobs(describedWith marker: String) async throws -> [LAVAJob] {
    try enter("jobs described with \(marker)")
    return lock.withLock {
      let ids = Set(submissions.filter { $0.definition.contains(marker) }.flatMap(\.ids)).sorted()
      return ids.compactMap { id in
        guard let job = scriptedJob(id), !job.steps.isEmpty else { return nil }
        let step = job.steps[min(position[id] ?? 0, job.steps.count - 1)]
        var found = lavaJob(id, step)
        found.description = "job \(id) " + marker
        return found
      }
    }
  }

  /// Takes `definition` as submitted before the test, giving `ids`: LAVA received it, whoever
  /// sent it.
  public func received(_ definition: String, ids: [Int64]) {
    lock.withLock { submissions.append((definition, ids)) }
  }

  /// Takes the first `lines` lines of the log of `id` as already served, as to a runner that
  /// followed the job before it restarted.
  public func assumeServed(_ id: Int64, lines: Int) {
    lock.withLock { servedLines[id] = lines }
  }

  public func job(_ id: Int64) async throws -> LAVAJob {
    try enter("job \(id)")
    return try lock.withLock { try advance(id) }
  }

  public func jobs(_ ids: [Int64]) async throws -> [LAVAJob] {
    try enter("jobs \(ids.map(String.init).joined(separator: ","))")
    return try lock.withLock {
      if !stateFailures.isEmpty { throw stateFailures.removeFirst() }
      return ids.compactMap { scriptedJob($0) == nil ? nil : try? advance($0) }
    }
  }

  /// Called with the lock held.
  private func advance(_ id: Int64) throws -> LAVAJob {
    if !stateFailures.isEmpty { throw stateFailures.removeFirst() }
    guard let job = scriptedJob(id), !job.steps.isEmpty else {
      throw FakeError(.scriptFailure, "404 Not Found: {\"detail\":\"Not found.\"} (job \(id))")
    }
    let index = min(position[id] ?? 0, job.steps.count - 1)
    position[id] = index + 1
    return lavaJob(id, job.steps[index])
  }

  private func lavaJob(_ id: Int64, _ step: Step) -> LAVAJob {
    LAVAJob(
      id: id, state: step.state, health: step.health, description: "job \(id)", deviceType: "qemu",
      device: step.device, failureComment: scriptedJob(id)?.failureComment,
      submitTime: Self.submitTime,
      startTime: [.running, .canceling, .finished].contains(step.state) ? Self.startTime : nil,
      endTime: step.state == .finished ? Self.endTime : nil)
  }

  /// The times every fake job gives once it got that far (LAVA's ISO 8601 form).
  public static let submitTime = "2026-11-29T01:38:00.000000Z"
  public static let startTime = "2026-11-29T01:38:30.000000Z"
  public static let endTime = "2026-11-29T01:39:00.000000Z"

  private func currentStep(_ id: Int64) -> Step? {
    guard let job = scriptedJob(id), !job.steps.isEmpty else { return nil }
    return job.steps[min(max((position[id] ?? 0) - 1, 0), job.steps.count - 1)]
  }

  public func logLines(of id: Int64, from start: Int) async throws -> [LAVALogLine] {
    try enter("log \(id) from \(start)")
    return try lock.withLock {
      if var queued = logFailures[id]?[start], !queued.isEmpty {
        let error = queued.removeFirst()
        logFailures[id]?[start] = queued
        throw error
      }
      guard let job = scriptedJob(id) else {
        throw FakeError(.scriptFailure, "404 Not Found: {\"detail\":\"Not found.\"} (job \(id))")
      }
      let served = servedLines[id, default: 0]
      if start < served {
        mistakes.append(
          "log \(id) asked from line \(start) after lines up to \(served) were served: shown twice")
      } else if start > served {
        mistakes.append("log \(id) asked from line \(start) when only \(served) were served: lines skipped")
      }
      let visible =
        job.printsOnEachRead
        ? min(start + 1, job.lines.count)
        : min(currentStep(id)?.visibleLines ?? job.lines.count, job.lines.count)
      guard start < visible, start >= 0 else { return [] }
      let page = Array(job.lines[start..<min(visible, start + pageSize)])
      servedLines[id] = max(served, start + page.count)
      return page
    }
  }

  /// A ``logPages(of:from:_:)`` call hands over up to `count` pages (of ``pageSize`` lines)
  /// one after the other, as LAVAClient does for a job far behind; one page unless set.
  public func handOver(pagesPerLogCall count: Int) { lock.withLock { pagesPerLogCall = max(1, count) } }

  public func logPages(of id: Int64, from start: Int, _ page: ([LAVALogLine]) async throws -> Void)
    async throws
  {
    var handed = 0
    for _ in 0..<lock.withLock({ pagesPerLogCall }) {
      let lines = try await logLines(of: id, from: start + handed)
      guard !lines.isEmpty else { return }
      try await page(lines)
      handed += lines.count
      if lines.count < pageSize { return }
    }
  }

  public func downloadJUnit(of id: Int64, to file: URL) async throws {
    try enter("junit \(id)")
    let text = try lock.withLock {
      guard let job = scriptedJob(id) else { throw FakeError(.scriptFailure, "404 Not Found (junit \(id))") }
      if let failure = job.junitFailure { throw failure }
      return job.junit
    }
    try Data(text.utf8).write(to: file)
  }

  public func testCases(of id: Int64) async throws -> [LAVATestCase] {
    try enter("tests \(id)")
    return lock.withLock { scriptedJob(id)?.testCases ?? [] }
  }

  public func queue(ofDeviceType deviceType: String, before id: Int64) async throws -> LAVADeviceTypeQueue {
    try enter("queue \(deviceType) before \(id)")
    return try lock.withLock {
      guard let facts = deviceTypeQueues[deviceType] else {
        throw FakeError(.scriptFailure, "404 Not Found (device type \(deviceType))")
      }
      return facts
    }
  }

  public func cancel(_ id: Int64) async throws {
    try enter("cancel \(id)")
    if let delay = lock.withLock({ cancelDelay }) { try await Task.sleep(for: delay) }
    lock.withLock {
      canceledIDs.append(id)
      if var job = scriptedJob(id) {
        job.steps = [Step(.finished, .canceled, device: currentStep(id)?.device)]
        if job.printsOnEachRead {
          job.lines = Array(job.lines.prefix(servedLines[id, default: 0]))
          job.printsOnEachRead = false
        }
        position[id] = 0
        scripted[id] = job
      }
    }
  }
}

/// Hands out one fake server, for the token it expects; another token gets LAVA's 403.
public struct FakeLAVAConnector: LAVAConnector {
  public let fake: FakeLAVAServer
  public let token: String
  public let definitionProblems: @Sendable (String) -> [String]
  /// What ``jobTimeout(inDefinition:)`` answers, as the real connector reads `timeouts: job:`.
  public let definitionJobTimeout: @Sendable (String) -> Duration?

  public init(
    _ fake: FakeLAVAServer, token: String,
    definitionProblems: @escaping @Sendable (String) -> [String] = { _ in [] },
    definitionJobTimeout: @escaping @Sendable (String) -> Duration? = { _ in nil }
  ) {
    self.fake = fake
    self.token = token
    self.definitionProblems = definitionProblems
    self.definitionJobTimeout = definitionJobTimeout
  }

  public func server(url: URL, token: String) throws -> any LAVAServer {
    token == self.token ? fake : ForbiddenLAVAServer(url: url)
  }

  public func problems(inDefinition text: String, name: String) async -> [String] { definitionProblems(text) }

  public func jobTimeout(inDefinition text: String) async -> Duration? { definitionJobTimeout(text) }

  /// How ``yamlTree(of:name:)`` reads YAML: tests that need it pass the runner's reader
  /// (`LAVAConnections.yamlTree`); TestSupport cannot import the YAML target itself.
  public var yamlReader: @Sendable (String, String) throws(YAMLTreeError) -> YAMLTree? = noYAMLReader

  /// What ``watcher(url:token:)`` hands out for the expected token: nil (commands then ask each
  /// job's state themselves) unless a test sets one.
  public var jobWatcher: (any LAVAJobWatcher)?

  public func watcher(url: URL, token: String) throws -> (any LAVAJobWatcher)? {
    token == self.token ? jobWatcher : nil
  }

  public func yamlTree(of text: String, name: String) async throws(YAMLTreeError) -> YAMLTree? {
    try yamlReader(text, name)
  }
}

/// The YAML reader of test connectors that were given none: every read fails, saying so.
@Sendable public func noYAMLReader(_ text: String, _ name: String) throws(YAMLTreeError) -> YAMLTree? {
  throw YAMLTreeError(
    file: name, line: 1, column: 1, message: "this test's LAVA connector was given no YAML reader")
}

/// What a LAVA server answers to a wrong token: 403 to everything.
public struct ForbiddenLAVAServer: LAVAServer {
  public let url: URL
  var error: FakeLAVAServer.FakeError {
    FakeLAVAServer.FakeError(
      .scriptFailure, "403 Forbidden from \(url.absoluteString): {\"detail\":\"Invalid token.\"}")
  }
  public func submit(definition: String) async throws -> [Int64] { throw error }
  public func job(_ id: Int64) async throws -> LAVAJob { throw error }
  public func jobs(_ ids: [Int64]) async throws -> [LAVAJob] { throw error }
  public func jobs(describedWith marker: String) async throws -> [LAVAJob] { throw error }
  public func logLines(of id: Int64, from start: Int) async throws -> [LAVALogLine] { throw error }
  public func downloadJUnit(of id: Int64, to file: URL) async throws { throw error }
  public func testCases(of id: Int64) async throws -> [LAVATestCase] { throw error }
  public func cancel(_ id: Int64) async throws { throw error }
  public func queue(ofDeviceType deviceType: String, before id: Int64) async throws -> LAVADeviceTypeQueue {
    throw error
  }
}

extension LAVALogLine {
  /// A line as LAVA serves it, with its parsed entry.
  public static func lava(_ level: String, _ message: String, at time: String = "01:38:32") -> LAVALogLine {
    let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
      of: "\"", with: "\\\"")
    return LAVALogLine(
      raw: "- {\"dt\": \"2026-11-29T\(time).619219\", \"lvl\": \"\(level)\", \"msg\": \"\(escaped)\"}",
      entry: LAVALogEntry(timestamp: "2026-11-29T\(time).619219", level: level, message: .text(message)))
  }

  /// A `results` line.
  public static func result(_ fields: [String: String], at time: String = "01:38:45") -> LAVALogLine {
    let body = fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(
      separator: ", ")
    return LAVALogLine(
      raw: "- {\"dt\": \"2026-11-29T\(time).1\", \"lvl\": \"results\", \"msg\": {\(body)}}",
      entry: LAVALogEntry(timestamp: "2026-11-29T\(time).1", level: "results", message: .result(fields)))
  }
}
