import Foundation
import TestSupport

/// The runner token every run registers in its fake GitLab.
let benchmarkRunnerToken = "glrt-e2e-benchmark-runner-token-01"

struct WaitingFigures: Sendable {
  var jobs: Int
  var submitSeconds: Double
  var rssMiB: Double
  var threads: Int
  var cpuPercent: Spread
  var lavaRequestsPerSecond: Spread
  var lavaServerPercent: Spread
  var lavaServerIdlePercent: Double
}

struct LogFigures: Sendable {
  var megabytes: Double
  var cpuMillisecondsPerMB: Double
  var idleRSSMiB: Double
  var peakRSSMiB: Double
  var wallSeconds: Double
  /// Of which putting the whole log into LAVA (its API, or its files directly) took this long.
  var uploadSeconds: Double
  var lavaJobID: Int64
}

struct LatencyFigures: Sendable {
  var quietSeconds: Double
  var stateChange: Double
  var lineMedian: Double
  var lineMax: Double
  var finished: Double
}

/// One binary's figures (nil for the parts not run).
struct BinaryFigures: Sendable {
  var latency: LatencyFigures?
  var log: LogFigures?
  var waiting: WaitingFigures?
}

struct Settings: Sendable {
  var jobs: Int
  var settle: Duration
  var window: Duration
  var sample: Duration
  /// How long the LAVA web server's own load is measured, without the runner's.
  var serverIdle: Duration
  var quiet: Duration
  var lineSamples: Int
  var traceUpdateInterval: Int
  /// (a)'s submissions answered from prepared queued jobs by the proxy (else real ones).
  var proxy: SubmissionProxy?
  var preparedIDs: [Int64] = []
  /// (b)'s log written into LAVA's files (else POSTed by the played worker).
  var directLog: Bool
  /// (c) runs while (a)'s jobs are taken and settle, in a second runner process, and (b)
  /// after (a)'s window; else (c), (b), then (a), one after the other.
  var overlap: Bool
}

let mebibyte = Double(1 << 20)

/// Every part asked for, for one binary: in one pass (`overlap`: (b) while (a)'s jobs are
/// taken, (c) while they settle, then (a)'s window), or one part after the other. `logReady`
/// gets (b)'s figures as soon as its LAVA job has finished.
func measureBinary(
  binary: URL, lava: BenchLAVA, settings: Settings, corpus: LogCorpus?, parts: Parts,
  log: @escaping @Sendable (String) -> Void, logReady: @escaping @Sendable (LogFigures) -> Void
) async throws -> BinaryFigures {
  var figures = BinaryFigures()
  if settings.overlap, parts.waiting, parts.latencyOrLog {
    return try await withGitLab(settings) { waitingGitLab in
      try await withGitLab(settings) { gitlab in
        try await withRunners(binary, [(waitingGitLab, settings.jobs), (gitlab, 4)]) { runners in
          let worker = lava.worker()
          return try await worker.whileOnline {
            var figures = BinaryFigures()
            try await lava.drainLeftOvers(worker)
            let idle = try await serverIdlePercent(lava, over: settings.serverIdle)
            log(
              "(a) \(settings.jobs) jobs; (b) while they are taken, (c) while they settle"
            )
            let intake = Task {
              try await takeWaitingJobs(gitlab: waitingGitLab, lava: lava, settings: settings)
            }
            let waitingTaken: (seconds: Double, ids: [Int64])
            do {
              // (b) runs in the second runner while the first one takes (a)'s jobs: (b)'s figures
              // are CPU time and memory of its own process. Then (c)'s job goes quiet (Scheduled),
              // still during the intake as a rule.
              if let corpus {
                let logFigures = try await measureLog(
                  gitlab: gitlab, runner: runners[1], worker: worker, lava: lava, corpus: corpus,
                  direct: settings.directLog)
                figures.log = logFigures
                logReady(logFigures)
              }
              let latencyJob = try await scheduleLatencyJob(gitlab: gitlab, lava: lava, worker: worker)
              waitingTaken = try await intake.value
              // (c) on a quiet machine: after the intake, while (a)'s polling settles.
              let settleEnd = ContinuousClock.now + settings.settle
              try await Task.sleep(until: latencyJob.scheduledAt + settings.quiet)
              figures.latency = try await measureLatency(
                latencyJob, gitlab: gitlab, worker: worker, settings: settings)
              try await Task.sleep(until: settleEnd)
            } catch {
              intake.cancel()
              throw error
            }
            figures.waiting = try await measureWindow(
              runner: runners[0], lava: lava, settings: settings, submitSeconds: waitingTaken.seconds,
              idlePercent: idle)
            try await checkStillQueued(waitingTaken.ids, lava: lava, settings: settings)
            if let proxy = settings.proxy {
              log(
                "(a) \(proxy.submissionsAnswered) submissions answered by the proxy, \(proxy.forwarded) requests "
                  + "forwarded, \(proxy.tunnelsOpened) event streams through it"
              )
            }
            return figures
          }
        }
      }
    }
  }
  if parts.latencyOrLog {
    log("(c) latency\(corpus.map { " and (b) a \(Int(Double($0.bytes) / 1e6)) MB log" } ?? "")")
    (figures.latency, figures.log) = try await withGitLab(settings) { gitlab in
      try await withRunners(binary, [(gitlab, 4)]) { runners in
        let worker = lava.worker()
        return try await worker.whileOnline { () -> (LatencyFigures, LogFigures?) in
          try await lava.drainLeftOvers(worker)
          let latencyJob = try await scheduleLatencyJob(gitlab: gitlab, lava: lava, worker: worker)
          try await Task.sleep(until: latencyJob.scheduledAt + settings.quiet)
          let latency = try await measureLatency(
            latencyJob, gitlab: gitlab, worker: worker, settings: settings)
          guard let corpus else { return (latency, nil) }
          let log = try await measureLog(
            gitlab: gitlab, runner: runners[0], worker: worker, lava: lava, corpus: corpus,
            direct: settings.directLog)
          logReady(log)
          return (latency, log)
        }
      }
    }
  }
  if parts.waiting {
    log("(a) \(settings.jobs) jobs waiting on queued LAVA jobs")
    figures.waiting = try await withGitLab(settings) { gitlab in
      try await withRunners(binary, [(gitlab, settings.jobs)]) { runners in
        let idle = try await serverIdlePercent(lava, over: settings.serverIdle)
        let taken = try await takeWaitingJobs(gitlab: gitlab, lava: lava, settings: settings)
        try await Task.sleep(for: settings.settle)
        let waiting = try await measureWindow(
          runner: runners[0], lava: lava, settings: settings, submitSeconds: taken.seconds, idlePercent: idle)
        try await checkStillQueued(taken.ids, lava: lava, settings: settings)
        if let proxy = settings.proxy {
          log(
            "(a) \(proxy.submissionsAnswered) submissions answered by the proxy, \(proxy.forwarded) requests "
              + "forwarded, \(proxy.tunnelsOpened) event streams through it")
        }
        return waiting
      }
    }
  }
  return figures
}

/// Which parts a run measures (`--parts`).
struct Parts: Equatable, Sendable {
  var waiting: Bool
  var log: Bool
  var latency: Bool
  var latencyOrLog: Bool { log || latency }

  /// "abc", "a", "b,c"…: letters a, b and c, any order, commas and spaces ignored.
  init?(_ text: String) {
    let letters = text.filter { $0 != "," && $0 != " " }
    guard !letters.isEmpty, letters.allSatisfy({ "abc".contains($0) }) else { return nil }
    waiting = letters.contains("a")
    log = letters.contains("b")
    latency = letters.contains("c")
  }
}

private func withGitLab<T: Sendable>(_ settings: Settings, _ body: (FakeGitLab) async throws -> T)
  async throws -> T
{
  let configuration = FakeGitLab.Configuration(
    longPollTimeout: .seconds(10), traceUpdateInterval: settings.traceUpdateInterval)
  return try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
    await gitlab.addRunnerToken(benchmarkRunnerToken)
    return try await body(gitlab)
  }
}

/// `body` with one runner process per (GitLab, concurrent jobs), all stopped at the end (side
/// by side: a runner with 1000 jobs takes seconds to end them).
private func withRunners<T: Sendable>(
  _ binary: URL, _ specs: [(FakeGitLab, Int)], _ body: ([RunnerProcess]) async throws -> T
) async throws -> T {
  var runners: [RunnerProcess] = []
  func stopAll(_ all: [RunnerProcess]) async {
    await withTaskGroup(of: Void.self) { group in
      for runner in all { group.addTask { await runner.stop() } }
    }
  }
  do {
    for (gitlab, concurrent) in specs {
      runners.append(
        try RunnerProcess(
          binary: binary, gitlab: await gitlab.url, token: benchmarkRunnerToken, concurrent: concurrent))
    }
    for runner in runners { try await runner.waitForStatusPort() }
    let result = try await body(runners)
    await stopAll(runners)
    return result
  } catch {
    await stopAll(runners)
    throw error
  }
}

/// The LAVA web server's CPU over `duration` while this benchmark's runners have no job (the
/// played and qemu workers' pings, other people's tests), as % of one core.
private func serverIdlePercent(_ lava: BenchLAVA, over duration: Duration) async throws -> Double {
  let clock = ContinuousClock()
  let start = clock.now
  let cpu = lava.gunicornCPUSeconds()
  try await Task.sleep(for: duration)
  return (lava.gunicornCPUSeconds() - cpu) / (clock.now - start).seconds * 100
}

/// (a) `settings.jobs` GitLab jobs each submitting a LAVA job that stays queued (or, through the
/// proxy, given a prepared one): how long until every job's log shows its job queued, and the
/// LAVA job ids.
private func takeWaitingJobs(gitlab: FakeGitLab, lava: BenchLAVA, settings: Settings) async throws
  -> (seconds: Double, ids: [Int64])
{
  let clock = ContinuousClock()
  let definition = lava.definition(name: lava.waitingJobName, deviceType: lava.queuedType)
  settings.proxy?.prepare(settings.preparedIDs)
  var jobs: [EnqueuedJob] = []
  let start = clock.now
  for index in 0..<settings.jobs {
    jobs.append(
      await gitlab.enqueueLAVAJob(
        lava, definition: definition, dependencyID: Int64(100_000 + index), through: settings.proxy?.url,
        keepLAVAJob: settings.proxy != nil))
  }
  var ids: [Int64] = []
  do {
    let deadline = clock.now + .seconds(max(120, settings.jobs / 2))
    var pending = jobs
    while !pending.isEmpty {
      guard clock.now < deadline else {
        throw BenchmarkError.timedOut("\(pending.count) of \(jobs.count) jobs did not show a queued LAVA job")
      }
      var still: [EnqueuedJob] = []
      for job in pending {
        let trace = await gitlab.trace(of: job.id)
        if trace.range(of: Data(" is queued (".utf8)) != nil {
          ids.append(FakeGitLab.lavaJobID(in: String(decoding: trace, as: UTF8.self)) ?? 0)
        } else if let result = await gitlab.finalResult(of: job.id) {
          throw BenchmarkError.wrongOutput(
            "job \(job.id) ended (\(result.status)): \(await gitlab.traceText(of: job.id).suffix(1500))")
        } else {
          still.append(job)
        }
      }
      pending = still
      if !pending.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
    }
  } catch {
    if settings.proxy == nil { await lava.cancel(ids.filter { $0 > 0 }) }
    throw error
  }
  return ((clock.now - start).seconds, ids)
}

/// After the window: the prepared jobs must all still be queued (the LAVA server is shared, and
/// a run of an older benchmark cancels every queued job of the device type when it starts),
/// else the figures were of fewer jobs. Real submissions are canceled instead.
private func checkStillQueued(_ ids: [Int64], lava: BenchLAVA, settings: Settings) async throws {
  guard settings.proxy != nil else {
    await lava.cancel(ids.filter { $0 > 0 })
    return
  }
  let queued = try await lava.stillQueued(ids, deviceType: lava.preparedType)
  guard queued == ids.count else {
    throw BenchmarkError.wrongOutput(
      "\(ids.count - queued) of the \(ids.count) prepared LAVA jobs were no longer queued after the window "
        + "(someone canceled them): run again")
  }
}

/// (a)'s window: `settings.window` cut into samples of `settings.sample`; RSS and threads read
/// every 0.5 s (their peaks), CPU and LAVA requests at each sample's ends.
private func measureWindow(
  runner: RunnerProcess, lava: BenchLAVA, settings: Settings, submitSeconds: Double, idlePercent: Double
) async throws -> WaitingFigures {
  let clock = ContinuousClock()
  let start = clock.now
  var cpu: [(time: Double, value: Double)] = []
  var server: [(time: Double, value: Double)] = []
  var requests: [(time: Double, value: Double)] = []
  var peakRSS = 0
  var peakThreads = 0
  var nextReading = start
  while true {
    let now = clock.now
    let sample = try runner.sample()
    peakRSS = max(peakRSS, sample.rssBytes)
    peakThreads = max(peakThreads, sample.threads)
    if now >= nextReading {
      let time = (now - start).seconds
      cpu.append((time, sample.cpuSeconds))
      server.append((time, lava.gunicornCPUSeconds()))
      requests.append((time, try await runner.lavaRequests()))
      nextReading += settings.sample
      if now - start >= settings.window { break }
    }
    try await Task.sleep(until: min(nextReading, clock.now + .milliseconds(500)))
  }
  return WaitingFigures(
    jobs: settings.jobs, submitSeconds: submitSeconds, rssMiB: Double(peakRSS) / mebibyte,
    threads: peakThreads,
    cpuPercent: Spread(readings: cpu, scale: 100), lavaRequestsPerSecond: Spread(readings: requests),
    lavaServerPercent: Spread(readings: server, scale: 100), lavaServerIdlePercent: idlePercent)
}

/// (c)'s job, submitted through the runner and taken by the played worker (Scheduled).
struct LatencyJob: Sendable {
  var job: EnqueuedJob
  var lavaID: Int64
  var scheduledAt: ContinuousClock.Instant
}

private func scheduleLatencyJob(gitlab: FakeGitLab, lava: BenchLAVA, worker: PlayedWorker) async throws
  -> LatencyJob
{
  try await lava.restartPublisher()
  let job = await gitlab.enqueueLAVAJob(
    lava, definition: lava.definition(name: "e2e-benchmark-latency", deviceType: lava.boardType),
    dependencyID: 1)
  let id = try await gitlab.lavaJobID(of: job, timeout: .seconds(60))
  _ = try await worker.startNextJob(id, timeout: .seconds(60))
  _ = try await gitlab.secondsUntilTrace(
    of: job, contains: "LAVA job \(id) is scheduled", timeout: .seconds(60))
  return LatencyJob(job: job, lavaID: id, scheduledAt: .now)
}

/// (c) once the job has been quiet `settings.quiet`: its state change, `lineSamples` single
/// lines at random 0.3–1.5 s gaps, and its end, each timed until it is in the GitLab trace.
private func measureLatency(
  _ latency: LatencyJob, gitlab: FakeGitLab, worker: PlayedWorker, settings: Settings
) async throws -> LatencyFigures {
  let (job, id) = (latency.job, latency.lavaID)
  try await worker.run(id)
  let stateChange = try await gitlab.secondsUntilTrace(
    of: job, contains: "LAVA job \(id) is running", timeout: .seconds(60))
  var generator = SplitMix64(seed: 42)
  var lineLatencies: [Double] = []
  for sample in 0..<settings.lineSamples {
    try await Task.sleep(for: .milliseconds(300 + Int(generator.next() % 1200)))
    let marker = "e2e-benchmark-line-\(sample)-\(UUID().uuidString)"
    try await worker.sendLog(id, [PlayedWorker.logLine(marker)])
    lineLatencies.append(try await gitlab.secondsUntilTrace(of: job, contains: marker, timeout: .seconds(60)))
  }
  try await worker.finish(id, result: .pass)
  let finished = try await gitlab.secondsUntilTrace(
    of: job, contains: "LAVA job \(id) finished: Complete", timeout: .seconds(60))
  let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
  guard result.status == .success else {
    throw BenchmarkError.wrongOutput("the latency job ended \(result.status)")
  }
  lineLatencies.sort()
  return LatencyFigures(
    quietSeconds: settings.quiet.seconds, stateChange: stateChange,
    lineMedian: lineLatencies[lineLatencies.count / 2], lineMax: lineLatencies.last ?? 0, finished: finished)
}

/// (b) one job forwarding `corpus`: the played worker takes the job, the log is put into LAVA
/// (POSTed through LAVA's worker API, or `direct`ly into its files while the job is still
/// Scheduled), the job runs and finishes; the runner's CPU from just before to the GitLab
/// job's success, per MB, and its RSS before and at its peak.
private func measureLog(
  gitlab: FakeGitLab, runner: RunnerProcess, worker: PlayedWorker, lava: BenchLAVA, corpus: LogCorpus,
  direct: Bool
) async throws -> LogFigures {
  let clock = ContinuousClock()
  let job = await gitlab.enqueueLAVAJob(
    lava, definition: lava.definition(name: "e2e-benchmark-log", deviceType: lava.boardType), dependencyID: 2)
  let id = try await gitlab.lavaJobID(of: job, timeout: .seconds(60))
  _ = try await worker.startNextJob(id, timeout: .seconds(60))
  _ = try await gitlab.secondsUntilTrace(
    of: job, contains: "LAVA job \(id) is scheduled", timeout: .seconds(60))
  let idle = try runner.sample()
  let start = clock.now
  if direct {
    guard let output = lava.jobOutput else {
      throw BenchmarkError.setup(
        "LAVA_BENCH_JOB_OUTPUT_DIR is not set (scripts/lava-test-server bench-setup of this checkout sets it)"
      )
    }
    try output.write(
      corpus, into: try output.directory(of: id, submitTime: try await lava.submitTime(of: id)))
    try await worker.run(id)
  } else {
    try await worker.run(id)
    for piece in corpus.pieces(of: 512 << 10) {
      try await worker.sendLog(id, piece)
    }
  }
  try await worker.finish(id, result: .pass)
  let uploaded = (clock.now - start).seconds
  let result = try await gitlab.result(of: job.id, timeout: .seconds(900))
  let end = try runner.sample()
  let wall = (clock.now - start).seconds
  let trace = await gitlab.trace(of: job.id)
  guard result.status == .success, trace.range(of: Data(corpus.endMarker.utf8)) != nil else {
    throw BenchmarkError.wrongOutput(
      "the log job ended \(result.status) with \(trace.count) bytes of trace, "
        + "the last line \(trace.range(of: Data(corpus.endMarker.utf8)) == nil ? "missing" : "there")")
  }
  let megabytes = Double(corpus.bytes) / 1e6
  return LogFigures(
    megabytes: megabytes, cpuMillisecondsPerMB: (end.cpuSeconds - idle.cpuSeconds) * 1000 / megabytes,
    idleRSSMiB: Double(idle.rssBytes) / mebibyte, peakRSSMiB: Double(end.peakRSSBytes) / mebibyte,
    wallSeconds: wall, uploadSeconds: uploaded, lavaJobID: id)
}

/// The same finished LAVA log read by `curl` (all of it) and `lavacli jobs logs` (its first
/// `lavacliBytes`): client CPU per MB.
func measureClients(lava: BenchLAVA, logID: Int64, corpus: LogCorpus, lavacli: String, lavacliBytes: Int)
  throws
  -> (curl: Double, lavacli: Double, lavacliMB: Double)
{
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-clients-\(UUID())")
  try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: scratch) }
  // The token goes through files only, never on a command line.
  let header = scratch.appendingPathComponent("header")
  try Data("Authorization: Token \(lava.server.token)\n".utf8).write(to: header)
  try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: header.path)
  // curl takes a few ms per run, near /usr/bin/time's 10 ms resolution: the sum of 5 runs.
  let curlRuns = 5
  var curlSeconds = 0.0
  for _ in 0..<curlRuns {
    let curl = try TimedCommand.run(
      [
        "/usr/bin/curl", "-sS", "-H", "@\(header.path)",
        lava.server.url.absoluteString + "api/v0.2/jobs/\(logID)/logs/",
      ],
      environment: ["PATH": "/usr/bin:/bin"])
    guard curl.stdoutBytes >= corpus.bytes - 1 else {
      throw BenchmarkError.wrongOutput("curl read \(curl.stdoutBytes) bytes of a \(corpus.bytes)-byte log")
    }
    curlSeconds += curl.cpuSeconds
  }
  let configDirectory = scratch.appendingPathComponent("config")
  try FileManager.default.createDirectory(at: configDirectory, withIntermediateDirectories: true)
  let config = """
    default:
      uri: \(lava.server.url.absoluteString)RPC2
      username: admin
      token: \(lava.server.token)

    """
  try Data(config.utf8).write(to: configDirectory.appendingPathComponent("lavacli.yaml"))
  let lines = corpus.lineCount(covering: lavacliBytes)
  let client = try TimedCommand.run(
    [lavacli, "jobs", "logs", "--no-follow", "--start", "0", "--end", "\(lines)", "\(logID)"],
    environment: ["PATH": "/usr/bin:/bin", "HOME": scratch.path, "XDG_CONFIG_HOME": configDirectory.path])
  let lavacliMB = Double(corpus.offsets[lines]) / 1e6
  guard client.stdoutBytes > lines else {
    throw BenchmarkError.wrongOutput("lavacli printed \(client.stdoutBytes) bytes for \(lines) lines")
  }
  return (
    curlSeconds * 1000 / (Double(curlRuns * corpus.bytes) / 1e6), client.cpuSeconds * 1000 / lavacliMB,
    lavacliMB
  )
}
