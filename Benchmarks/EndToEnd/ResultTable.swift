import Foundation

/// One Markdown table: a row per figure, a column per binary, the ratio second/first, and the
/// target of issue 10 as text (never checked: figures are printed, not asserted).
struct ResultTable {
  let labels: [String]
  var rows: [[String]] = []

  init(labels: [String]) { self.labels = labels }

  mutating func row(_ name: String, target: String, _ values: [Double], digits: Int = 1, unit: String = "") {
    var cells = [name, target]
    cells += values.map { $0.isFinite ? String(format: "%.\(digits)f", $0) + unit : "—" }
    if values.count == 2 {
      let ratio = values[1] / values[0]
      cells.append(ratio.isFinite ? String(format: "%.2f×", ratio) : "—")
    }
    rows.append(cells)
  }

  /// A rate measured in a window of samples: "mean (lowest–highest sample)"; the ratio is of the
  /// means.
  mutating func row(_ name: String, target: String, _ spreads: [Spread], digits: Int = 1, unit: String = "") {
    func number(_ value: Double) -> String { value.isFinite ? String(format: "%.\(digits)f", value) : "—" }
    var cells = [name, target]
    cells += spreads.map { "\(number($0.mean))\(unit) (\(number($0.low))–\(number($0.high)))" }
    if spreads.count == 2 {
      let ratio = spreads[1].mean / spreads[0].mean
      cells.append(ratio.isFinite ? String(format: "%.2f×", ratio) : "—")
    }
    rows.append(cells)
  }

  mutating func text(_ name: String, _ text: String) {
    rows.append([name, ""] + labels.map { _ in text } + (labels.count == 2 ? [""] : []))
  }

  mutating func add(
    latency: [LatencyFigures], log: [LogFigures], clients: (curl: Double, lavacli: Double, lavacliMB: Double),
    directLog: Bool
  ) {
    let megabytes = log[0].megabytes
    row(
      "(b) runner CPU per MB forwarding a \(Int(megabytes.rounded())) MB log", target: "≤ 20 ms",
      log.map(\.cpuMillisecondsPerMB), unit: " ms")
    row(
      "(b) curl of the same log, CPU per MB", target: "", log.map { _ in clients.curl }, digits: 2,
      unit: " ms")
    row(
      String(format: "(b) lavacli jobs logs (first %.0f MB), CPU per MB", clients.lavacliMB), target: "",
      log.map { _ in clients.lavacli }, digits: 0, unit: " ms")
    row(
      "(b) runner ÷ lavacli", target: "≤ 0.01", log.map { $0.cpuMillisecondsPerMB / clients.lavacli },
      digits: 3)
    row("(b) runner ÷ curl", target: "", log.map { $0.cpuMillisecondsPerMB / clients.curl }, digits: 0)
    row("(b) runner idle RSS", target: "", log.map(\.idleRSSMiB), unit: " MiB")
    row("(b) runner peak RSS", target: "≤ idle + 24 MiB", log.map(\.peakRSSMiB), unit: " MiB")
    row("(b) peak − idle RSS", target: "≤ 24 MiB", log.map { $0.peakRSSMiB - $0.idleRSSMiB }, unit: " MiB")
    row("(b) wall time, log put into LAVA → job done", target: "", log.map(\.wallSeconds), unit: " s")
    row(
      directLog
        ? "(b) … of which writing it into LAVA's job output (direct)"
        : "(b) … of which the played worker's upload to LAVA", target: "", log.map(\.uploadSeconds),
      unit: " s")
    let quiet = Int(latency[0].quietSeconds)
    row(
      "(c) state change after \(quiet) s quiet → trace", target: "≤ 1 s (event stream)",
      latency.map(\.stateChange), digits: 2, unit: " s")
    row(
      "(c) new log line → trace, median", target: "≤ trace interval + 1 s", latency.map(\.lineMedian),
      digits: 2, unit: " s")
    row("(c) new log line → trace, worst", target: "", latency.map(\.lineMax), digits: 2, unit: " s")
    row(
      "(c) job finished → trace", target: "≤ 1 s (event stream)", latency.map(\.finished), digits: 2,
      unit: " s")
  }

  /// (a)'s rows; `prepared`: the submissions were answered from that many prepared queued jobs.
  mutating func add(waiting: [WaitingFigures], settle: Int, window: Int, sample: Int, prepared: Bool) {
    let jobs = waiting[0].jobs
    row(
      prepared
        ? "(a) \(jobs) jobs: time to take all, each given a prepared queued job"
        : "(a) \(jobs) jobs: time to submit all and see them queued", target: "",
      waiting.map(\.submitSeconds),
      unit: " s")
    let atSize = jobs == 1000 ? "" : " at 1000"
    let windowText = "\(settle) s after, \(window) s window; rates: mean (lowest–highest \(sample) s sample)"
    row(
      "(a) runner peak RSS (\(windowText))", target: "≤ 150 MiB\(atSize)", waiting.map(\.rssMiB), unit: " MiB"
    )
    row("(a) runner peak threads", target: "≤ 16", waiting.map { Double($0.threads) }, digits: 0)
    row("(a) runner CPU, % of a core", target: "≤ 10 %\(atSize)", waiting.map(\.cpuPercent), unit: " %")
    row(
      "(a) LAVA requests per second", target: "≤ 2\(atSize)", waiting.map(\.lavaRequestsPerSecond), digits: 2)
    row(
      "(a) LAVA web server CPU, % of a core", target: "≤ 5 %\(atSize)", waiting.map(\.lavaServerPercent),
      unit: " %")
    row(
      "(a) LAVA web server CPU without the runner", target: "", waiting.map(\.lavaServerIdlePercent),
      unit: " %")
  }

  func markdown() -> String {
    let header =
      ["figure", "target (issue 10)"] + labels + (labels.count == 2 ? ["\(labels[1]) ÷ \(labels[0])"] : [])
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
      "| "
        + cells.enumerated().map {
          $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0)
        }
        .joined(separator: " | ") + " |"
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
      .joined(separator: "\n")
  }
}
