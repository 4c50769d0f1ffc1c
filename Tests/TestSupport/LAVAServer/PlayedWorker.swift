import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Plays a LAVA worker (one with no `lava-worker` process behind it) over LAVA's internal HTTP
/// API, so that a test decides exactly when a job it submitted runs, which log lines it
/// writes and how it ends.
///
/// ```swift
/// let server = try LAVATestServer.fromEnvironment()
/// let worker = server.playedWorker()
/// try await worker.whileOnline {
///   let ids = try await client.submit(definition: server.playedJobDefinition(name: "x"))
///   let job = try await worker.startNextJob()          // waits until LAVA schedules it
///   try await worker.run(job.id)                        // → Running
///   try await worker.sendLog(job.id, [PlayedWorker.logLine("hello")])
///   try await worker.sendLog(job.id, [PlayedWorker.resultLine(suite: "smoke", case: "ls", result: "pass")])
///   try await worker.finish(job.id, result: .pass)      // → Finished, Complete
/// }
/// ```
///
/// The calls are LAVA's: `GET /scheduler/internal/v1/workers/<name>/?version=<v>` (header
/// `LAVA-Token: <worker token>`) is the ping and lists jobs to start, running and to cancel;
/// `POST /scheduler/internal/v1/jobs/<id>/` (header `LAVA-Token: <job token>`) with form
/// `state=Running` or `state=Finished&result=pass|fail[&error_type=…&errors=…]`; and
/// `POST /scheduler/internal/v1/jobs/<id>/logs/` with `lines=<YAML lines>&index=<lines already
/// sent>`. `results` lines create the suites and test cases that the REST API and JUnit show.
public actor PlayedWorker {
  public struct Assignment: Sendable, Equatable {
    public var id: Int64
    public var token: String
  }

  /// What a ping returns: jobs LAVA wants this worker to start, believes are running, or wants
  /// canceled.
  public struct Assignments: Sendable, Equatable {
    public var start: [Assignment]
    public var running: [Assignment]
    public var cancel: [Assignment]
  }

  public enum JobResult: String, Sendable {
    case pass, fail
  }

  public let url: URL
  public let name: String
  private let token: String
  private let version: String
  private var jobTokens: [Int64: String] = [:]
  private var linesSent: [Int64: Int] = [:]

  /// - Parameters:
  ///   - url: the LAVA server (LAVA_URL).
  ///   - version: the server's LAVA version; a worker reporting another one is set offline.
  public init(url: URL, name: String, token: String, version: String = "2023.01") {
    self.url = url
    self.name = name
    self.token = token
    self.version = version
  }

  /// Runs `body` while the worker pings every `interval` (LAVA sets a worker offline after
  /// about 10 s of silence); the pings stop when `body` ends.
  public nonisolated func whileOnline<T: Sendable>(
    interval: Duration = .seconds(2), _ body: @Sendable () async throws -> T
  ) async throws -> T {
    try await ping()
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        while !Task.isCancelled {
          try? await Task.sleep(for: interval)
          _ = try? await self.ping()
        }
      }
      defer { group.cancelAll() }
      return try await body()
    }
  }

  /// One ping; remembers the job tokens it hears of.
  @discardableResult
  public func ping() async throws -> Assignments {
    var components = URLComponents(
      url: url.appendingPathComponent("scheduler/internal/v1/workers/\(name)/"),
      resolvingAgainstBaseURL: false)!
    components.queryItems = [URLQueryItem(name: "version", value: version)]
    let data = try await send("GET", components.url!, token: token, form: nil)
    struct Reply: Decodable {
      struct Job: Decodable {
        var id: Int64
        var token: String
      }
      var start: [Job]?
      var running: [Job]?
      var cancel: [Job]?
    }
    guard let reply = try? JSONDecoder().decode(Reply.self, from: data) else {
      throw PlayedWorkerError.protocolError(
        "the worker ping reply is not what LAVA sends: \(Self.text(data))")
    }
    let convert = { (jobs: [Reply.Job]?) in (jobs ?? []).map { Assignment(id: $0.id, token: $0.token) } }
    let assignments = Assignments(
      start: convert(reply.start), running: convert(reply.running), cancel: convert(reply.cancel))
    for job in assignments.start + assignments.running + assignments.cancel {
      jobTokens[job.id] = job.token
    }
    return assignments
  }

  /// Pings until LAVA lists a job to start (the scheduler has put one on this worker's
  /// device); `id` picks a given job.
  public func startNextJob(_ id: Int64? = nil, timeout: Duration = .seconds(60)) async throws -> Assignment {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      let assignments = try await ping()
      if let job = assignments.start.first(where: { id == nil || $0.id == id }) { return job }
      try await Task.sleep(for: .milliseconds(500))
    }
    throw PlayedWorkerError.timedOut("no job \(id.map(String.init) ?? "") was scheduled on worker \(name)")
  }

  /// Pings until LAVA lists `id` among the jobs to cancel.
  public func waitForCancel(_ id: Int64, timeout: Duration = .seconds(60)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if try await ping().cancel.contains(where: { $0.id == id }) { return }
      try await Task.sleep(for: .milliseconds(500))
    }
    throw PlayedWorkerError.timedOut("LAVA did not ask worker \(name) to cancel job \(id)")
  }

  /// Ends every job LAVA has given this worker (left over by an earlier, interrupted test run)
  /// so that its devices are free: jobs to start or running fail, jobs to cancel are canceled.
  /// Only for a server no other test is using at the same time: it ends their jobs too.
  public func drain() async throws {
    let assignments = try await ping()
    for job in assignments.start {
      try await run(job.id)
      try await finish(job.id, result: .fail, errorType: "Infrastructure", errors: "drained by a test")
    }
    for job in assignments.running {
      try await finish(job.id, result: .fail, errorType: "Infrastructure", errors: "drained by a test")
    }
    for job in assignments.cancel {
      try await finish(job.id, result: .fail, errorType: "Canceled")
    }
  }

  public func run(_ id: Int64) async throws {
    try await update(id, ["state": "Running"])
  }

  /// Appends `lines` (each `- {…}`, no newline) to the job's log, after the lines sent before.
  public func sendLog(_ id: Int64, _ lines: [String]) async throws {
    guard !lines.isEmpty else { return }
    let index = linesSent[id] ?? 0
    _ = try await send(
      "POST", jobURL(id).appendingPathComponent("logs/"), token: jobToken(id),
      form: ["lines": lines.joined(separator: "\n"), "index": "\(index)"])
    linesSent[id] = index + lines.count
  }

  /// Ends the job: `pass` → Complete, `fail` → Incomplete. `errorType` is LAVA's
  /// (`Infrastructure`, `Job`, `Test`, `Bug`, `Configuration`, `Canceled`).
  public func finish(_ id: Int64, result: JobResult, errorType: String? = nil, errors: String? = nil)
    async throws
  {
    var form = ["state": "Finished", "result": result.rawValue]
    form["error_type"] = errorType
    form["errors"] = errors
    try await update(id, form)
  }

  // MARK: log lines

  public static func logLine(_ message: String, level: String = "target", at date: Date = Date()) -> String {
    line(level: level, message: message, at: date)
  }

  /// A `results` line; `extra` adds fields such as `measurement`, `units`, `error_type`.
  public static func resultLine(
    suite: String, case name: String, result: String, extra: [String: String] = [:], at date: Date = Date()
  ) -> String {
    var message = extra
    message["definition"] = suite
    message["case"] = name
    message["result"] = result
    return line(level: "results", message: message, at: date)
  }

  static func line(level: String, message: Any, at date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
    let object: [String: Any] = ["dt": formatter.string(from: date), "lvl": level, "msg": message]
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return "- " + String(decoding: data, as: UTF8.self)
  }

  // MARK: plumbing

  private func jobURL(_ id: Int64) -> URL {
    url.appendingPathComponent("scheduler/internal/v1/jobs/\(id)/")
  }

  private func jobToken(_ id: Int64) throws -> String {
    guard let token = jobTokens[id] else {
      throw PlayedWorkerError.protocolError(
        "job \(id) was never assigned to worker \(name); call startNextJob first")
    }
    return token
  }

  private func update(_ id: Int64, _ form: [String: String]) async throws {
    _ = try await send("POST", jobURL(id), token: jobToken(id), form: form)
  }

  private func send(_ method: String, _ target: URL, token: String, form: [String: String]?) async throws
    -> Data
  {
    var request = URLRequest(url: target)
    request.httpMethod = method
    request.setValue(token, forHTTPHeaderField: "LAVA-Token")
    request.timeoutInterval = 30
    if let form {
      var allowed = CharacterSet.alphanumerics
      allowed.insert(charactersIn: "-._~")
      let body = form.sorted { $0.key < $1.key }.map { key, value in
        "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
      }.joined(separator: "&")
      request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
      request.httpBody = Data(body.utf8)
    }
    let (data, response) = try await URLSession.shared.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    guard (200..<300).contains(status) else {
      throw PlayedWorkerError.refused(
        "\(method) \(target.path) answered \(status): \(Self.text(data))")
    }
    return data
  }

  private static func text(_ data: Data) -> String {
    String(decoding: data.prefix(500), as: UTF8.self)
  }
}

public enum PlayedWorkerError: Error, CustomStringConvertible {
  case refused(String)
  case protocolError(String)
  case timedOut(String)

  public var description: String {
    switch self {
    case .refused(let text): "LAVA refused the played worker's call: \(text)"
    case .protocolError(let text): "played worker: \(text)"
    case .timedOut(let text): "played worker: \(text)"
    }
  }
}
