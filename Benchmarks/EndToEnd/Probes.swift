import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// What `/proc` says of one process: CPU time so far, resident memory, its peak and threads.
struct ProcessSample: Sendable {
  var cpuSeconds: Double
  var rssBytes: Int
  var peakRSSBytes: Int
  var threads: Int

  static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

  /// nil when the process is gone.
  static func read(_ pid: Int32) -> ProcessSample? {
    guard let cpu = cpuSeconds(pid),
      let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    else { return nil }
    func field(_ name: String) -> Int {
      for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
        let number =
          line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 0
        return name == "Threads" ? number : number * 1024
      }
      return 0
    }
    return ProcessSample(
      cpuSeconds: cpu, rssBytes: field("VmRSS"), peakRSSBytes: field("VmHWM"), threads: field("Threads"))
  }

  /// utime + stime of the process itself (its threads, not its reaped children).
  static func cpuSeconds(_ pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the name: state is field 3, utime 14 and stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
      return nil
    }
    return (user + system) / ticksPerSecond
  }

  /// CPU seconds of `pid` and of its direct children alive now (gunicorn's master and workers).
  static func treeCPUSeconds(_ pid: Int32) -> Double {
    var total = cpuSeconds(pid) ?? 0
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
      guard let child = Int32(entry), child != pid,
        let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { continue }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      if fields.count > 1, Int32(fields[1]) == pid { total += cpuSeconds(child) ?? 0 }
    }
    return total
  }
}

/// One `lava-runner run` process against the fake GitLab, serving /metrics on a port of its own.
final class RunnerProcess: @unchecked Sendable {
  let process = Process()
  let logFile: URL
  let workDirectory: URL
  private(set) var statusPort: UInt16 = 0

  init(binary: URL, gitlab: URL, token: String, concurrent: Int) throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lava-runner-e2e-\(UUID())")
    workDirectory = scratch.appendingPathComponent("work")
    try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    logFile = scratch.appendingPathComponent("runner.log")
    _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
    process.executableURL = binary
    process.arguments = [
      "run", "--check-interval", "0.2", "--listen-address", "127.0.0.1:0", "--log-format", "json",
      "--concurrent", "\(concurrent)", "--work-dir", workDirectory.path,
    ]
    process.environment = [
      "PATH": "/usr/bin:/bin", "HOME": scratch.path, "GITLAB_URL": gitlab.absoluteString,
      "GITLAB_TOKEN": token,
      "RUNNER_NAME": "e2e-benchmark",
    ]
    let handle = try FileHandle(forWritingTo: logFile)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
  }

  var pid: Int32 { process.processIdentifier }

  /// Waits (at most 30 s) for the runner to log its status port.
  func waitForStatusPort() async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
      if let range = text.range(of: #""port":"(\d+)""#, options: .regularExpression),
        let port = UInt16(text[range].filter(\.isNumber))
      {
        statusPort = port
        return
      }
      guard process.isRunning else { throw BenchmarkError.runnerExited(log: text) }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw BenchmarkError.timedOut("the runner did not log its status port within 30 s")
  }

  /// The sum of `lava_runner_lava_requests_total` over its labels: every request to LAVA.
  func lavaRequests() async throws -> Double {
    let url = URL(string: "http://127.0.0.1:\(statusPort)/metrics")!
    let (data, _) = try await URLSession.shared.data(from: url)
    var total = 0.0
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n")
    where line.hasPrefix("lava_runner_lava_requests_total{") {
      total += Double(line.split(separator: " ").last ?? "") ?? 0
    }
    return total
  }

  func sample() throws -> ProcessSample {
    guard let sample = ProcessSample.read(pid) else {
      throw BenchmarkError.runnerExited(log: (try? String(contentsOf: logFile, encoding: .utf8)) ?? "")
    }
    return sample
  }

  /// SIGTERM, then SIGKILL if it is still there after `patience`.
  func stop(patience: Duration = .seconds(20)) async {
    guard process.isRunning else { return }
    process.terminate()
    let deadline = ContinuousClock.now + patience
    while process.isRunning, ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(100))
    }
    if process.isRunning { kill(pid, SIGKILL) }
    process.waitUntilExit()
    // LAVA_RUNNER_BENCH_KEEP_LOGS=1 keeps the runner's log and work folder to look into.
    if ProcessInfo.processInfo.environment["LAVA_RUNNER_BENCH_KEEP_LOGS"] == "1" {
      FileHandle.standardError.write(Data("runner log kept: \(logFile.path)\n".utf8))
    } else {
      try? FileManager.default.removeItem(at: workDirectory.deletingLastPathComponent())
    }
  }
}

/// A command line tool timed by /usr/bin/time: user + system CPU seconds and peak RSS.
struct TimedCommand {
  var cpuSeconds: Double
  var peakRSSBytes: Int
  var stdoutBytes: Int

  static func run(_ arguments: [String], environment: [String: String]) throws -> TimedCommand {
    let timing = FileManager.default.temporaryDirectory.appendingPathComponent("time-\(UUID())")
    defer { try? FileManager.default.removeItem(at: timing) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    process.arguments = ["-o", timing.path, "-f", "%U %S %M"] + arguments
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    var count = 0
    while true {
      let chunk = pipe.fileHandleForReading.readData(ofLength: 1 << 20)
      if chunk.isEmpty { break }
      count += chunk.count
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw BenchmarkError.toolFailed("\(arguments.first ?? "") exited with \(process.terminationStatus)")
    }
    let fields = (try String(contentsOf: timing, encoding: .utf8)).split(whereSeparator: \.isWhitespace)
      .compactMap { Double($0) }
    guard fields.count >= 3 else { throw BenchmarkError.toolFailed("/usr/bin/time wrote no figures") }
    return TimedCommand(
      cpuSeconds: fields[0] + fields[1], peakRSSBytes: Int(fields[2]) * 1024, stdoutBytes: count)
  }
}

enum BenchmarkError: Error, CustomStringConvertible {
  case runnerExited(log: String)
  case timedOut(String)
  case toolFailed(String)
  case wrongOutput(String)
  case setup(String)

  var description: String {
    switch self {
    case .runnerExited(let log): "the runner exited; the end of its log:\n\(log.suffix(2000))"
    case .timedOut(let text): "timed out: \(text)"
    case .toolFailed(let text): text
    case .wrongOutput(let text): "wrong output, no figure printed: \(text)"
    case .setup(let text): text
    }
  }
}
