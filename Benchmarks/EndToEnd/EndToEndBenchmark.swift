import ArgumentParser
import Foundation
import TestSupport

/// `Benchmarks/e2e`: the lava-runner binary as a process, the fake GitLab, the real LAVA test
/// server with a played worker (Benchmarks/README.md says what each figure means).
@main
struct EndToEndBenchmark: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lava-runner-e2e-benchmark",
    abstract: "Measure lava-runner binaries end to end against the LAVA test server and a fake GitLab.",
    discussion: """
      By default (under 2 minutes per binary; 3.5 for the original runner, whose intake of 1000 \
      jobs alone takes 2.5) part (a)'s submissions are answered by a proxy from prepared queued \
      LAVA jobs kept between runs, (b)'s log is written into LAVA's job output directly and runs \
      while (a)'s jobs are taken, and (c) while they settle. --full runs as the issue first \
      measured: real submissions, the log POSTed through LAVA's worker API, each part on its own, \
      longer windows (about 6 minutes per binary).
      """)

  @Option(
    name: .customLong("runner"),
    help: "A lava-runner binary, as PATH or LABEL=PATH; give two to compare them (the ratio is second/first)."
  )
  var runners: [String] = []

  @Flag(help: "The long, more precise run: real submissions, the log through LAVA's API, longer windows.")
  var full = false

  @Option(help: "GitLab jobs waiting on queued LAVA jobs in (a).")
  var jobs = 1000

  @Option(
    help: "Seconds the waiting jobs run before the window, for their polling to settle (15; --full 30).")
  var settle: Int?

  @Option(
    help: "Seconds of the measuring window of (a) (15, one quiet polling period of the runner; --full 30).")
  var window: Int?

  @Option(
    help: "Seconds of each sample in (a)'s window: rates are shown with their lowest and highest sample.")
  var sample = 3

  @Option(help: "Size of the generated LAVA log of (b), in MB (10^6 bytes).")
  var logMB = 50

  @Option(help: "How much of that log `lavacli jobs logs` reads (it is slow), in MB (2; --full 5).")
  var lavacliMB: Int?

  @Option(help: "The lavacli executable.")
  var lavacli = "lavacli"

  @Option(help: "Seconds a job stays quiet (scheduled) before its state change in (c).")
  var quiet = 10

  @Option(help: "Log lines timed one by one in (c).")
  var lineSamples = 5

  @Option(help: "X-GitLab-Trace-Update-Interval the fake GitLab sends, in seconds.")
  var traceUpdateInterval = 3

  @Option(help: "Which parts to run: a (waiting jobs), b (log), c (latency; b and c run together).")
  var parts = "abc"

  @Option(help: "(a)'s submissions: prepared (answered from queued jobs kept between runs) or real (--full).")
  var submissions: String?

  @Option(help: "How (b)'s log gets into LAVA: direct (written into its job output) or api (--full).")
  var logUpload: String?

  @Option(help: "Where the generated log is kept between runs.")
  var cacheDirectory =
    ProcessInfo.processInfo.environment["LAVA_RUNNER_BENCH_CACHE"] ?? "/var/tmp/lava-runner-bench-cache"

  @Flag(help: "Cancel the prepared queued LAVA jobs kept for (a), and measure nothing.")
  var cancelPrepared = false

  /// The settings the options come to, defaults of the mode filled in.
  struct Plan: Equatable {
    var parts: Parts
    var settle: Int
    var window: Int
    var sample: Int
    var serverIdle: Int
    var lavacliMB: Int
    var preparedSubmissions: Bool
    var directLog: Bool
    var overlap: Bool
  }

  func plan() throws -> Plan {
    guard let parts = Parts(self.parts) else { throw ValidationError("--parts is made of a, b and c") }
    let preparedSubmissions: Bool
    switch submissions ?? (full ? "real" : "prepared") {
    case "prepared": preparedSubmissions = true
    case "real": preparedSubmissions = false
    default: throw ValidationError("--submissions is prepared or real")
    }
    let directLog: Bool
    switch logUpload ?? (full ? "api" : "direct") {
    case "direct": directLog = true
    case "api": directLog = false
    default: throw ValidationError("--log-upload is direct or api")
    }
    return Plan(
      parts: parts, settle: settle ?? (full ? 30 : 15), window: window ?? (full ? 30 : 15), sample: sample,
      serverIdle: full ? 5 : 3, lavacliMB: lavacliMB ?? (full ? 5 : 2),
      preparedSubmissions: preparedSubmissions,
      directLog: directLog, overlap: !full)
  }

  func validate() throws {
    let plan = try plan()
    guard cancelPrepared || (1...2).contains(runners.count) else {
      throw ValidationError("give one or two --runner")
    }
    guard (1...10_000).contains(jobs), plan.settle >= 0, (1...600).contains(plan.settle + plan.window) else {
      throw ValidationError("--jobs is 1 to 10000 and --settle plus --window at most 600 s")
    }
    guard plan.sample >= 1, plan.window >= 3 * plan.sample else {
      throw ValidationError("--window must hold at least 3 samples of --sample seconds (at least 1)")
    }
    guard (1...2000).contains(logMB), (1...logMB).contains(plan.lavacliMB), (1...100).contains(lineSamples)
    else {
      throw ValidationError("--log-mb is 1 to 2000, --lavacli-mb 1 to --log-mb, --line-samples 1 to 100")
    }
    guard (0...300).contains(quiet), (1...60).contains(traceUpdateInterval) else {
      throw ValidationError("--quiet is 0 to 300 s and --trace-update-interval 1 to 60 s")
    }
  }

  /// LABEL=PATH or PATH (labelled by its file name).
  static func binary(_ text: String) -> (label: String, path: String) {
    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
    return parts.count == 2 ? (parts[0], parts[1]) : (URL(fileURLWithPath: text).lastPathComponent, text)
  }

  func run() async throws {
    let plan = try plan()
    let lava = try BenchLAVA.fromEnvironment()
    let pool = PreparedJobs(deviceType: lava.preparedType) { [preparedType = lava.preparedType] in
      LAVATestServer.playedJobDefinition(name: $0, deviceType: preparedType)
    }
    if cancelPrepared {
      let ids = try await lava.queuedJobs(named: PreparedJobs.namePrefix, deviceType: pool.deviceType).map(
        \.id)
      log("canceling \(ids.count) prepared queued LAVA jobs")
      await lava.cancel(ids)
      return
    }
    let binaries = try runners.map { text -> (label: String, url: URL) in
      let (label, path) = Self.binary(text)
      guard FileManager.default.isExecutableFile(atPath: path) else {
        throw ValidationError("\(path) is not an executable")
      }
      return (label, URL(fileURLWithPath: path))
    }
    let leftOver = try await lava.leftOverQueuedJobs()
    if !leftOver.isEmpty {
      log("canceling \(leftOver.count) queued jobs an interrupted run left")
      await lava.cancel(leftOver)
    }

    // Independent setup side by side: the log (generated or read back) and the prepared jobs.
    let logMB = self.logMB
    let cacheDirectory = URL(fileURLWithPath: self.cacheDirectory, isDirectory: true)
    let corpusTask = Task<LogCorpus?, any Error> {
      guard plan.parts.latencyOrLog else { return nil }
      let (corpus, wasCached) = try await offPool {
        try LogCorpus.cached(bytes: logMB * 1_000_000, seed: 2026, in: cacheDirectory)
      }
      log(
        wasCached
          ? "read the \(logMB) MB LAVA log from \(cacheDirectory.path)" : "generated a \(logMB) MB LAVA log")
      return corpus
    }
    var proxy: SubmissionProxy?
    var preparedIDs: [Int64] = []
    if plan.parts.waiting, plan.preparedSubmissions {
      preparedIDs = try await lava.preparedJobs(pool, count: jobs, log: log)
      proxy = try SubmissionProxy(upstreamPort: UInt16(lava.server.url.port ?? 80))
    }
    defer { proxy?.stop() }
    let corpus = try await corpusTask.value

    let settings = Settings(
      jobs: jobs, settle: .seconds(plan.settle), window: .seconds(plan.window), sample: .seconds(plan.sample),
      serverIdle: .seconds(plan.serverIdle), quiet: .seconds(quiet), lineSamples: lineSamples,
      traceUpdateInterval: traceUpdateInterval, proxy: proxy, preparedIDs: preparedIDs,
      directLog: plan.directLog,
      overlap: plan.overlap)
    var results: [BinaryFigures] = []
    // curl and lavacli read the first binary's finished log on a thread of their own, while the
    // benchmark goes on (their figures are CPU time).
    let clients = Locked<Task<(curl: Double, lavacli: Double, lavacliMB: Double), any Error>?>(nil)
    defer { clients.current?.cancel() }
    let (lavacli, lavacliBytes) = (self.lavacli, plan.lavacliMB * 1_000_000)
    for binary in binaries {
      log("\(binary.label)")
      let figures = try await measureBinary(
        binary: binary.url, lava: lava, settings: settings, corpus: corpus, parts: plan.parts, log: log
      ) { logFigures in
        guard let corpus else { return }
        clients.withLock { task in
          guard task == nil else { return }
          log("curl and lavacli on the same log")
          task = Task {
            try await offPool {
              try measureClients(
                lava: lava, logID: logFigures.lavaJobID, corpus: corpus, lavacli: lavacli,
                lavacliBytes: lavacliBytes)
            }
          }
        }
      }
      results.append(figures)
    }

    var table = ResultTable(labels: binaries.map(\.label))
    let logs = results.compactMap(\.log)
    if let clients = clients.current, logs.count == results.count {
      table.add(
        latency: results.compactMap(\.latency), log: logs, clients: try await clients.value,
        directLog: plan.directLog)
    }
    let waiting = results.compactMap(\.waiting)
    if !waiting.isEmpty, waiting.count == results.count {
      table.add(
        waiting: waiting, settle: plan.settle, window: plan.window, sample: plan.sample,
        prepared: plan.preparedSubmissions)
    }
    print(table.markdown())
  }
}

@Sendable func log(_ text: String) {
  FileHandle.standardError.write(
    Data("[\(Date().formatted(date: .omitted, time: .standard))] \(text)\n".utf8))
}
