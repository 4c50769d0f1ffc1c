import Foundation
import TestSupport

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The LAVA server of `scripts/lava-test-server bench-setup`: the REST API, the played bench
/// worker and gunicorn's pid.
struct BenchLAVA: Sendable {
  var server: LAVATestServer
  var workerName: String
  var workerToken: String
  var boardType: String
  var queuedType: String
  /// The device type of the queued jobs kept between runs (`PreparedJobs`), nothing plays
  /// either: apart from `queuedType`, whose jobs an older benchmark cancels when it starts.
  var preparedType: String
  var gunicornPID: Int32
  /// LAVA's job log store, for writing a log directly (nil: bench-setup of an older script).
  var jobOutput: JobOutput?

  static func fromEnvironment() throws -> BenchLAVA {
    let environment = ProcessInfo.processInfo.environment
    let names = [
      "LAVA_BENCH_WORKER", "LAVA_BENCH_WORKER_TOKEN", "LAVA_BENCH_DEVICE_TYPE",
      "LAVA_BENCH_QUEUED_DEVICE_TYPE",
      "LAVA_BENCH_GUNICORN_PID_FILE",
    ]
    let missing = names.filter { (environment[$0] ?? "").isEmpty }
    guard missing.isEmpty else {
      throw BenchmarkError.setup(
        "\(missing.joined(separator: ", ")) missing: run through Benchmarks/e2e, or export "
          + "`scripts/lava-test-server bench-setup` (set -a; eval \"$(scripts/lava-test-server bench-setup)\"; set +a)"
      )
    }
    let server = try LAVATestServer.fromEnvironment(environment)
    let pidText = try String(contentsOfFile: environment["LAVA_BENCH_GUNICORN_PID_FILE"]!, encoding: .utf8)
    guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw BenchmarkError.setup("no gunicorn pid in \(environment["LAVA_BENCH_GUNICORN_PID_FILE"]!)")
    }
    return BenchLAVA(
      server: server, workerName: environment["LAVA_BENCH_WORKER"]!,
      workerToken: environment["LAVA_BENCH_WORKER_TOKEN"]!, boardType: environment["LAVA_BENCH_DEVICE_TYPE"]!,
      queuedType: environment["LAVA_BENCH_QUEUED_DEVICE_TYPE"]!,
      preparedType: environment["LAVA_BENCH_PREPARED_DEVICE_TYPE"].flatMap { $0.isEmpty ? nil : $0 }
        ?? environment["LAVA_BENCH_QUEUED_DEVICE_TYPE"]!, gunicornPID: pid,
      jobOutput: environment["LAVA_BENCH_JOB_OUTPUT_DIR"].flatMap {
        $0.isEmpty ? nil : JobOutput(root: URL(fileURLWithPath: $0, isDirectory: true))
      })
  }

  func worker() -> PlayedWorker {
    PlayedWorker(url: server.url, name: workerName, token: workerToken, version: server.version)
  }

  func gunicornCPUSeconds() -> Double { ProcessSample.treeCPUSeconds(gunicornPID) }

  func rest(_ method: String, _ path: String, body: Data? = nil) async throws -> Data {
    var request = URLRequest(url: URL(string: server.url.absoluteString + "api/v0.2/" + path)!)
    request.httpMethod = method
    request.setValue("Token \(server.token)", forHTTPHeaderField: "Authorization")
    if let body {
      request.httpBody = body
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    request.timeoutInterval = 60
    let (data, response) = try await URLSession.shared.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    guard (200..<300).contains(status) else {
      throw BenchmarkError.toolFailed("LAVA answered \(status) to \(method) \(path)")
    }
    return data
  }

  /// Cancels `ids` (queued jobs finish as Canceled at once), eight requests at a time.
  func cancel(_ ids: [Int64]) async {
    await withTaskGroup(of: Void.self) { group in
      for (index, id) in ids.enumerated() {
        if index >= 8 { await group.next() }
        group.addTask { _ = try? await rest("GET", "jobs/\(id)/cancel/") }
      }
    }
  }

  /// Jobs of the queued device type that an interrupted run with real submissions left behind
  /// (at most 2000): named as those runs name them and submitted over an hour ago, so that
  /// another run waiting on its jobs now (the server is shared) keeps them.
  func leftOverQueuedJobs() async throws -> [Int64] {
    var ids: [Int64] = []
    let hourAgo = Date().addingTimeInterval(-3600).ISO8601Format()
    for state in ["Submitted", "Scheduling"] {
      let data = try await rest(
        "GET",
        "jobs/?requested_device_type=\(queuedType)&state=\(state)&description=\(waitingJobName)"
          + "&submit_time__lt=\(hourAgo)&limit=2000")
      struct Page: Decodable {
        struct Job: Decodable { var id: Int64 }
        var results: [Job]
      }
      ids += try JSONDecoder().decode(Page.self, from: data).results.map(\.id)
    }
    return ids
  }

  /// The name of the queued jobs the runner submits itself in part (a) (`--submissions real`).
  var waitingJobName: String { "e2e-benchmark-waiting" }

  /// Restarts lava-publisher (`scripts/lava-test-server restart-publisher`, given as
  /// `LAVA_BENCH_SERVER_SCRIPT`): lava-publisher 2023.01 stops forwarding events for good once a
  /// client goes away while it sends one (any runner killed on this shared server), and (c)'s
  /// state change would then time the runner's fallback polling, not the event stream. Runners
  /// connected meanwhile reconnect, as they do after any drop. Without the variable, nothing.
  func restartPublisher() async throws {
    guard let script = ProcessInfo.processInfo.environment["LAVA_BENCH_SERVER_SCRIPT"], !script.isEmpty else {
      return
    }
    // posix_spawn and waitpid off the pool, output to /dev/null: Foundation's Process leaves this
    // script (which starts a daemon) unreaped and waits for ever (as LAVAEventStreamTests found).
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(script), strdup("restart-publisher"), nil]
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    guard posix_spawn(&pid, script, &actions, nil, argv, environ) == 0 else {
      throw BenchmarkError.toolFailed("cannot start \(script)")
    }
    let child = pid
    let status = try await offPool { () -> Int32 in
      var status: Int32 = 0
      while waitpid(child, &status, 0) == -1 && errno == EINTR {}
      return status
    }
    guard status == 0 else {
      throw BenchmarkError.toolFailed("\(script) restart-publisher failed (wait status \(status))")
    }
  }

  /// A time as LAVA's REST API gives it (`2026-11-30T22:49:29.590486Z`, or without fraction).
  static func date(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
  }

  /// LAVA's `submit_time` of job `id`, which names its output directory.
  func submitTime(of id: Int64) async throws -> String {
    struct Job: Decodable { var submit_time: String }
    return try JSONDecoder().decode(Job.self, from: try await rest("GET", "jobs/\(id)/")).submit_time
  }

  /// Ends the jobs LAVA has given the played worker that an interrupted run left (submitted over
  /// `age` ago), so that its devices are free; younger ones are another run's, going on now on
  /// this shared server (PlayedWorker.drain would end those too).
  func drainLeftOvers(_ worker: PlayedWorker, olderThan age: TimeInterval = 1200) async throws {
    let assignments = try await worker.ping()
    func isLeftOver(_ job: PlayedWorker.Assignment) async throws -> Bool {
      guard let submitted = Self.date(try await submitTime(of: job.id)) else { return true }
      return submitted < Date().addingTimeInterval(-age)
    }
    for job in assignments.start where try await isLeftOver(job) {
      try await worker.run(job.id)
      try await worker.finish(
        job.id, result: .fail, errorType: "Infrastructure", errors: "left over, drained")
    }
    for job in assignments.running where try await isLeftOver(job) {
      try await worker.finish(
        job.id, result: .fail, errorType: "Infrastructure", errors: "left over, drained")
    }
    for job in assignments.cancel where try await isLeftOver(job) {
      try await worker.finish(job.id, result: .fail, errorType: "Canceled")
    }
  }

  func definition(name: String, deviceType: String) -> String {
    LAVATestServer.playedJobDefinition(name: name, deviceType: deviceType)
  }
}

extension FakeGitLab {
  /// A GitLab job whose script submits `definition` to LAVA and follows it; `through` is the
  /// LAVA URL it is given when not the server's (the submission proxy of part (a)), and
  /// `keepLAVAJob` leaves the LAVA job queued when the runner stops (LAVA_CANCELLATION=ignore).
  func enqueueLAVAJob(
    _ lava: BenchLAVA, definition: String, dependencyID: Int64, through: URL? = nil, keepLAVAJob: Bool = false
  ) -> EnqueuedJob {
    var job = FakeJob(script: ["submit lava-job.yaml"])
      .variable(.init("LAVA_URL", (through ?? lava.server.url).absoluteString))
      .variable(.init("LAVA_TOKEN", lava.server.token, masked: true))
      // Every line into the trace: past the default 16 MiB only warnings, errors and results go.
      .variable(.init("LAVA_LOG_LIMIT", "1g"))
      .dependency(.init(id: dependencyID, name: "prepare", archive: .files(["lava-job.yaml": definition])))
    if keepLAVAJob { job = job.variable(.init("LAVA_CANCELLATION", "ignore")) }
    return enqueue(job)
  }

  /// The LAVA job id the runner printed in the job's log (its URL), once it is there.
  func lavaJobID(of job: EnqueuedJob, timeout: Duration) async throws -> Int64 {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if let id = Self.lavaJobID(in: traceText(of: job.id)) { return id }
      if let result = finalResult(of: job.id) {
        throw BenchmarkError.wrongOutput(
          "GitLab job \(job.id) ended (\(result.status)) before submitting: \(traceText(of: job.id).suffix(1500))"
        )
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw BenchmarkError.timedOut("GitLab job \(job.id) printed no LAVA job URL")
  }

  static func lavaJobID(in trace: String) -> Int64? {
    guard let range = trace.range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression) else {
      return nil
    }
    return Int64(trace[range].split(separator: "/").last!)
  }

  /// Seconds from now until `text` is in the job's trace (polled every 10 ms).
  func secondsUntilTrace(of job: EnqueuedJob, contains text: String, timeout: Duration) async throws -> Double
  {
    let clock = ContinuousClock()
    let start = clock.now
    while clock.now - start < timeout {
      if trace(of: job.id).range(of: Data(text.utf8)) != nil { return (clock.now - start).seconds }
      try await Task.sleep(for: .milliseconds(10))
    }
    throw BenchmarkError.timedOut(
      "'\(text)' did not reach the GitLab trace of job \(job.id) in \(timeout); the trace ends with:\n"
        + String(traceText(of: job.id).suffix(1500)))
  }
}

extension Duration {
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
