import Foundation
import RunnerCore

/// One timed case: how much work one repetition did (in the table's unit, before "/s") and how
/// long each repetition took.
struct BenchmarkRow: Sendable {
  let name: String
  let work: Double
  let times: [Duration]

  var medianSeconds: Double {
    let sorted = times.map(\.seconds).sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// Work per second at the median time.
  var throughput: Double { medianSeconds > 0 ? work / medianSeconds : 0 }
}

/// A benchmark's figures: its rows against a baseline timed in the same run.
struct BenchmarkTable: Sendable {
  let title: String
  let unit: String
  let baseline: BenchmarkRow
  let rows: [BenchmarkRow]

  /// A Markdown table; "vs baseline" is the row's throughput over the baseline's.
  var rendered: String {
    let header = ["case", "median time", unit, "vs baseline"]
    let cells = ([baseline] + rows).map { row in
      [
        row.name, formatFigure(row.medianSeconds * 1000) + " ms", formatFigure(row.throughput),
        baseline.throughput > 0 ? formatFigure(row.throughput / baseline.throughput) + "×" : "-",
      ]
    }
    let widths = header.indices.map { column in
      ([header] + cells).map { $0[column].count }.max() ?? 0
    }
    func line(_ values: [String]) -> String {
      "| "
        + zip(values, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }
        .joined(separator: " | ") + " |"
    }
    let rule = "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"
    return (["### " + title, "", line(header), rule] + cells.map(line)).joined(separator: "\n") + "\n"
  }
}

/// Where the figures were measured: they mean little without it.
enum BenchmarkMachine {
  static func summary(repetitions: Int) -> String {
    #if DEBUG
      let build = "debug (figures NOT representative: use Benchmarks/run, which builds release)"
    #else
      let build = "release"
    #endif
    return """
      CPU: \(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores online
      OS: \(ProcessInfo.processInfo.operatingSystemVersionString)
      Build: \(build); each case run \(repetitions) times, median shown
      """
  }

  /// Peak resident memory of this process so far, in MiB (Linux reports `ru_maxrss` in KiB).
  static func peakResidentMiB() -> Double {
    var usage = rusage()
    #if os(Linux)
      let who = __rusage_who_t(RUSAGE_SELF.rawValue)
    #else
      let who = RUSAGE_SELF
    #endif
    guard getrusage(who, &usage) == 0 else { return 0 }
    #if os(Linux)
      return Double(usage.ru_maxrss) / 1024
    #else
      return Double(usage.ru_maxrss) / 1024 / 1024
    #endif
  }

  private static func cpuModel() -> String {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}

extension Duration {
  var seconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
