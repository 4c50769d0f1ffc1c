import ArgumentParser
import Foundation

/// `Benchmarks/e2e`: the lava-runner binary as a process, the fake GitLab, the real LAVA test
/// server with a played worker (Benchmarks/README.md says what each figure means).
@main
struct EndToEndBenchmark: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lava-runner-e2e-benchmark",
    abstract: "Measure lava-runner binaries end to end against the LAVA test server and a fake GitLab.")

  @Option(
    name: .customLong("runner"),
    help: "A lava-runner binary, as PATH or LABEL=PATH; give two to compare them (the ratio is second/first)."
  )
  var runners: [String]

  @Option(help: "GitLab jobs waiting on queued LAVA jobs in (a).")
  var jobs = 500

  @Option(help: "Seconds the waiting jobs run before the window, for their polling to settle.")
  var settle = 30

  @Option(help: "Seconds of the measuring window of (a).")
  var window = 20

  @Option(help: "Size of the generated LAVA log of (b), in MB (10^6 bytes).")
  var logMB = 50

  @Option(help: "How much of that log `lavacli jobs logs` reads (it is slow), in MB.")
  var lavacliMB = 5

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

  func validate() throws {
    guard (1...2).contains(runners.count) else { throw ValidationError("give one or two --runner") }
    guard (1...10_000).contains(jobs), (1...600).contains(settle + window), window > 0 else {
      throw ValidationError("--jobs is 1 to 10000 and --settle plus --window at most 600 s")
    }
    guard (1...2000).contains(logMB), (1...logMB).contains(lavacliMB), (1...100).contains(lineSamples) else {
      throw ValidationError("--log-mb is 1 to 2000, --lavacli-mb at most --log-mb, --line-samples 1 to 100")
    }
  }

  func run() async throws {
    let lava = try BenchLAVA.fromEnvironment()
    let binaries = try runners.map { text -> (label: String, url: URL) in
      let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
      let path = parts.count == 2 ? parts[1] : parts[0]
      guard FileManager.default.isExecutableFile(atPath: path) else {
        throw ValidationError("\(path) is not an executable")
      }
      return (
        parts.count == 2 ? parts[0] : URL(fileURLWithPath: path).lastPathComponent, URL(fileURLWithPath: path)
      )
    }
    let settings = Settings(
      jobs: jobs, settle: .seconds(settle), window: .seconds(window), quiet: .seconds(quiet),
      lineSamples: lineSamples, traceUpdateInterval: traceUpdateInterval)
    let leftOver = try await lava.leftOverQueuedJobs()
    if !leftOver.isEmpty {
      log("canceling \(leftOver.count) queued jobs an earlier run left")
      await lava.cancel(leftOver)
    }

    var table = ResultTable(labels: binaries.map(\.label))
    if parts.contains("b") || parts.contains("c") {
      log("generating a \(logMB) MB LAVA log")
      let corpus = LogCorpus(
        bytes: logMB * 1_000_000, seed: 2026, endMarker: "e2e-benchmark-end-\(UUID().uuidString)")
      var results: [(LatencyFigures, LogFigures)] = []
      for binary in binaries {
        log("\(binary.label): (c) latency and (b) a \(logMB) MB log")
        results.append(
          try await measureLatencyAndLog(binary: binary.url, lava: lava, settings: settings, corpus: corpus))
      }
      log("curl and lavacli on the same log")
      let clients = try measureClients(
        lava: lava, logID: results[0].1.lavaJobID, corpus: corpus, lavacli: lavacli,
        lavacliBytes: lavacliMB * 1_000_000)
      table.add(latency: results.map(\.0), log: results.map(\.1), clients: clients)
    }
    if parts.contains("a") {
      var results: [WaitingFigures] = []
      for binary in binaries {
        log("\(binary.label): (a) \(jobs) jobs waiting on queued LAVA jobs")
        results.append(try await measureWaiting(binary: binary.url, lava: lava, settings: settings))
      }
      table.add(waiting: results, settle: settle, window: window)
    }
    print(table.markdown())
  }

  func log(_ text: String) {
    FileHandle.standardError.write(
      Data("[\(Date().formatted(date: .omitted, time: .standard))] \(text)\n".utf8))
  }
}
