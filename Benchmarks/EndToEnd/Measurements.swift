import Foundation
import TestSupport

/// The runner token every run registers in its fake GitLab.
let benchmarkRunnerToken = "glrt-e2e-benchmark-runner-token-01"

struct WaitingFigures {
  var jobs: Int
  var submitSeconds: Double
  var rssMiB: Double
  var threads: Int
  var cpuPercent: Double
  var lavaRequestsPerSecond: Double
  var lavaServerPercent: Double
  var lavaServerIdlePercent: Double
}

struct LogFigures {
  var megabytes: Double
  var cpuMillisecondsPerMB: Double
  var idleRSSMiB: Double
  var peakRSSMiB: Double
  var wallSeconds: Double
  /// Of which the played worker's POSTs of the whole log to LAVA took this long.
  var uploadSeconds: Double
  var lavaJobID: Int64
}

struct LatencyFigures {
  var quietSeconds: Double
  var stateChange: Double
  var lineMedian: Double
  var lineMax: Double
  var finished: Double
}

struct Settings {
  var jobs: Int
  var settle: Duration
  var window: Duration
  var quiet: Duration
  var lineSamples: Int
  var traceUpdateInterval: Int
}

let mebibyte = Double(1 << 20)

/// (a) `settings.jobs` GitLab jobs, each following a LAVA job that stays queued: what they cost
/// the runner and the LAVA web server once their polling has settled.
func measureWaiting(binary: URL, lava: BenchLAVA, settings: Settings) async throws -> WaitingFigures {
  let clock = ContinuousClock()
  // The LAVA web server's own load (other clients, workers' pings) without this runner.
  let idleStart = clock.now
  let idleCPU = lava.gunicornCPUSeconds()
  try await Task.sleep(for: .seconds(5))
  let idlePercent = (lava.gunicornCPUSeconds() - idleCPU) / (clock.now - idleStart).seconds * 100

  let configuration = FakeGitLab.Configuration(
    longPollTimeout: .seconds(10), traceUpdateInterval: settings.traceUpdateInterval)
  return try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
    await gitlab.addRunnerToken(benchmarkRunnerToken)
    let runner = try RunnerProcess(
      binary: binary, gitlab: await gitlab.url, token: benchmarkRunnerToken, concurrent: settings.jobs)
    var lavaIDs: [Int64] = []
    do {
      try await runner.waitForStatusPort()
      let definition = lava.definition(name: "e2e-benchmark-waiting", deviceType: lava.queuedType)
      var jobs: [EnqueuedJob] = []
      let submitStart = clock.now
      for index in 0..<settings.jobs {
        jobs.append(
          await gitlab.enqueueLAVAJob(lava, definition: definition, dependencyID: Int64(100_000 + index)))
      }
      // Every job has submitted and printed its queued state.
      let submitDeadline = clock.now + .seconds(max(120, settings.jobs / 2))
      var pending = jobs
      while !pending.isEmpty {
        guard clock.now < submitDeadline else {
          throw BenchmarkError.timedOut(
            "\(pending.count) of \(jobs.count) jobs did not show a queued LAVA job")
        }
        var still: [EnqueuedJob] = []
        for job in pending {
          let trace = await gitlab.trace(of: job.id)
          if trace.range(of: Data(" is queued (".utf8)) != nil {
            lavaIDs.append(FakeGitLab.lavaJobID(in: String(decoding: trace, as: UTF8.self)) ?? 0)
          } else if let result = await gitlab.finalResult(of: job.id) {
            throw BenchmarkError.wrongOutput(
              "job \(job.id) ended (\(result.status)): \(await gitlab.traceText(of: job.id).suffix(1500))")
          } else {
            still.append(job)
          }
        }
        pending = still
        if !pending.isEmpty { try await Task.sleep(for: .seconds(1)) }
      }
      let submitSeconds = (clock.now - submitStart).seconds
      try await Task.sleep(for: settings.settle)

      let start = clock.now
      let runnerCPU = try runner.sample().cpuSeconds
      let serverCPU = lava.gunicornCPUSeconds()
      let requests = try await runner.lavaRequests()
      var peakRSS = 0
      var peakThreads = 0
      while clock.now - start < settings.window {
        let sample = try runner.sample()
        peakRSS = max(peakRSS, sample.rssBytes)
        peakThreads = max(peakThreads, sample.threads)
        try await Task.sleep(for: .milliseconds(500))
      }
      let end = try runner.sample()
      let elapsed = (clock.now - start).seconds
      let figures = WaitingFigures(
        jobs: settings.jobs, submitSeconds: submitSeconds,
        rssMiB: Double(max(peakRSS, end.rssBytes)) / mebibyte,
        threads: max(peakThreads, end.threads), cpuPercent: (end.cpuSeconds - runnerCPU) / elapsed * 100,
        lavaRequestsPerSecond: (try await runner.lavaRequests() - requests) / elapsed,
        lavaServerPercent: (lava.gunicornCPUSeconds() - serverCPU) / elapsed * 100,
        lavaServerIdlePercent: idlePercent)
      await runner.stop()
      await lava.cancel(lavaIDs.filter { $0 > 0 })
      return figures
    } catch {
      await runner.stop()
      await lava.cancel(lavaIDs.filter { $0 > 0 })
      throw error
    }
  }
}

/// (c) then (b) in one runner: how soon a state change and new lines reach the GitLab trace, then
/// what forwarding `corpus` costs.
func measureLatencyAndLog(
  binary: URL, lava: BenchLAVA, settings: Settings, corpus: LogCorpus
) async throws -> (LatencyFigures, LogFigures) {
  let clock = ContinuousClock()
  let configuration = FakeGitLab.Configuration(
    longPollTimeout: .seconds(10), traceUpdateInterval: settings.traceUpdateInterval)
  return try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
    await gitlab.addRunnerToken(benchmarkRunnerToken)
    let runner = try RunnerProcess(
      binary: binary, gitlab: await gitlab.url, token: benchmarkRunnerToken, concurrent: 4)
    let worker = lava.worker()
    do {
      try await runner.waitForStatusPort()
      let result = try await worker.whileOnline {
        try await worker.drain()
        // (c) latency
        let latencyJob = await gitlab.enqueueLAVAJob(
          lava, definition: lava.definition(name: "e2e-benchmark-latency", deviceType: lava.boardType),
          dependencyID: 1)
        let latencyID = try await gitlab.lavaJobID(of: latencyJob, timeout: .seconds(60))
        _ = try await worker.startNextJob(latencyID, timeout: .seconds(60))
        _ = try await gitlab.secondsUntilTrace(
          of: latencyJob, contains: "LAVA job \(latencyID) is scheduled", timeout: .seconds(60))
        try await Task.sleep(for: settings.quiet)
        try await worker.run(latencyID)
        let stateChange = try await gitlab.secondsUntilTrace(
          of: latencyJob, contains: "LAVA job \(latencyID) is running", timeout: .seconds(60))
        var generator = SplitMix64(seed: 42)
        var lineLatencies: [Double] = []
        for sample in 0..<settings.lineSamples {
          try await Task.sleep(for: .milliseconds(300 + Int(generator.next() % 1200)))
          let marker = "e2e-benchmark-line-\(sample)-\(UUID().uuidString)"
          try await worker.sendLog(latencyID, [PlayedWorker.logLine(marker)])
          lineLatencies.append(
            try await gitlab.secondsUntilTrace(of: latencyJob, contains: marker, timeout: .seconds(60)))
        }
        try await worker.finish(latencyID, result: .pass)
        let finished = try await gitlab.secondsUntilTrace(
          of: latencyJob, contains: "LAVA job \(latencyID) finished: Complete", timeout: .seconds(60))
        let latencyResult = try await gitlab.result(of: latencyJob.id, timeout: .seconds(60))
        guard latencyResult.status == .success else {
          throw BenchmarkError.wrongOutput("the latency job ended \(latencyResult.status)")
        }
        lineLatencies.sort()
        let latency = LatencyFigures(
          quietSeconds: settings.quiet.seconds, stateChange: stateChange,
          lineMedian: lineLatencies[lineLatencies.count / 2], lineMax: lineLatencies.last ?? 0,
          finished: finished)

        // (b) a large log
        let logJob = await gitlab.enqueueLAVAJob(
          lava, definition: lava.definition(name: "e2e-benchmark-log", deviceType: lava.boardType),
          dependencyID: 2)
        let logID = try await gitlab.lavaJobID(of: logJob, timeout: .seconds(60))
        _ = try await worker.startNextJob(logID, timeout: .seconds(60))
        _ = try await gitlab.secondsUntilTrace(
          of: logJob, contains: "LAVA job \(logID) is scheduled", timeout: .seconds(60))
        let idle = try runner.sample()
        let start = clock.now
        try await worker.run(logID)
        for piece in corpus.pieces(of: 512 << 10) {
          try await worker.sendLog(logID, Array(piece))
        }
        try await worker.finish(logID, result: .pass)
        let uploaded = (clock.now - start).seconds
        let logResult = try await gitlab.result(of: logJob.id, timeout: .seconds(900))
        let end = try runner.sample()
        let wall = (clock.now - start).seconds
        let trace = await gitlab.trace(of: logJob.id)
        guard logResult.status == .success, trace.range(of: Data(corpus.endMarker.utf8)) != nil else {
          throw BenchmarkError.wrongOutput(
            "the log job ended \(logResult.status) with \(trace.count) bytes of trace, "
              + "the last line \(trace.range(of: Data(corpus.endMarker.utf8)) == nil ? "missing" : "there")")
        }
        let megabytes = Double(corpus.bytes) / 1e6
        let log = LogFigures(
          megabytes: megabytes, cpuMillisecondsPerMB: (end.cpuSeconds - idle.cpuSeconds) * 1000 / megabytes,
          idleRSSMiB: Double(idle.rssBytes) / mebibyte, peakRSSMiB: Double(end.peakRSSBytes) / mebibyte,
          wallSeconds: wall, uploadSeconds: uploaded, lavaJobID: logID)
        return (latency, log)
      }
      await runner.stop()
      return result
    } catch {
      await runner.stop()
      try? await worker.drain()
      throw error
    }
  }
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
