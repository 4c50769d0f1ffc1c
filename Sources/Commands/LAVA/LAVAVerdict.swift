import Foundation
import Protocols

/// Everything known about one LAVA job once it has finished.
struct LAVAJobReport: Sendable {
  var job: LAVAJob
  var url: URL
  /// From the `lava` suite's `job` result line, when the log had one.
  var error: LAVAJobError
  /// Test cases whose result is `fail`.
  var failedTests: [LAVATestCase]
  /// Nil when the job's test cases could not be fetched (it then cannot pass on tests).
  var testCasesUnavailable: String?
  /// Why the runner cancelled the job before LAVA finished it (a watchdog, a known issue).
  var stop: LAVAFollowStop?
  /// `2 of 3`: the attempt of `submit` that ran the job, when it may retry; nil otherwise.
  var attempt: String?
  /// Every test case with its result and measurement, for `lava-report.json`.
  var testCases: [LAVATestCase] = []

  var id: Int64 { job.id }
}

/// The one pass rule of `submit` and `monitor-file`: the GitLab job succeeds only if every LAVA job
/// finished Complete without a failed test (without looking at tests when they are ignored).
enum LAVAVerdict {
  static let shownFailedTests = 10

  /// Nil when the job passes; else the failure of one job with its reason.
  static func failure(of report: LAVAJobReport, ignoreTestFailures: Bool) -> CommandFailure? {
    let job = report.job
    let name = "LAVA job \(job.id)" + (job.device.map { " on \($0)" } ?? "")
    var lines: [String] = []
    var reason = FailureReason.scriptFailure
    if let stop = report.stop {
      reason = stop.failureReason
      let text = stop.outcome(id: job.id).reason ?? ""
      return CommandFailure(reason, "\(text)\n  \(report.url.absoluteString)")
    }
    switch job.health {
    case .complete:
      if ignoreTestFailures { return nil }
      if let problem = report.testCasesUnavailable {
        reason = .runnerSystemFailure
        lines.append("\(name) completed, but its test results could not be read: \(problem)")
      } else if report.failedTests.isEmpty {
        return nil
      } else {
        lines.append("\(name) completed with \(count(report.failedTests.count, "failed test")):")
      }
    case .incomplete:
      var text = "\(name) ended Incomplete"
      switch report.error.type {
      case let infrastructure? where ["Infrastructure", "Bug", "Configuration"].contains(infrastructure):
        reason = .runnerSystemFailure
        text += " because of a LAVA \(infrastructure) error (not the tests' fault; retrying may help)"
      case "Job"?:
        text += " because of its job definition (error type Job)"
      case "Test"?:
        text += " because of its tests (error type Test)"
      case let other?:
        text += " (error type \(other))"
      case nil:
        // Without evidence against LAVA the job keeps the blame: a runner system failure would
        // invite automatic retries of a definition that may simply be broken.
        text += " without an error type"
      }
      if let message = report.error.message ?? job.failureComment { text += ": \(message)" }
      lines.append(text)
      if !report.failedTests.isEmpty && !ignoreTestFailures {
        lines.append("  \(count(report.failedTests.count, "failed test")):")
      }
    case .canceled:
      lines.append("\(name) was canceled in LAVA" + (report.error.message.map { ": \($0)" } ?? ""))
    case .unknown:
      reason = .runnerSystemFailure
      lines.append("\(name) ended in state \(job.state.rawValue) without a health")
    }
    if !ignoreTestFailures {
      for test in report.failedTests.prefix(shownFailedTests) {
        lines.append("    ✘ \(test.suite)/\(test.name): \(test.result)")
      }
      if report.failedTests.count > shownFailedTests {
        lines.append("    and \(report.failedTests.count - shownFailedTests) more")
      }
    }
    lines.append("  \(report.url.absoluteString)")
    return CommandFailure(reason, lines.joined(separator: "\n"))
  }

  /// Nil when every job passes. When some jobs fail because of their content and others because
  /// of LAVA, the content wins: retrying the GitLab job would not make those pass.
  static func failure(of reports: [LAVAJobReport], ignoreTestFailures: Bool, command: String)
    -> CommandFailure?
  {
    let failures = reports.compactMap { failure(of: $0, ignoreTestFailures: ignoreTestFailures) }
    guard !failures.isEmpty else { return nil }
    let reason: FailureReason =
      failures.contains { $0.failureReason == .scriptFailure } ? .scriptFailure : .runnerSystemFailure
    let heading =
      reports.count == 1
      ? "\(command): the LAVA job failed:"
      : "\(command): \(failures.count) of \(reports.count) LAVA jobs failed:"
    return CommandFailure(reason, ([heading] + failures.map(\.message)).joined(separator: "\n"))
  }

  static let whyFailedTests = 20

  /// The few lines a reader of a failed job wants first: which job, its health, LAVA's error
  /// type and message, the failure comment, the action it failed in, the failed test cases
  /// (first ``whyFailedTests``) and the device's last lines before the failure.
  static func whyItFailed(_ report: LAVAJobReport, ignoreTestFailures: Bool) -> [String] {
    let job = report.job
    var lines = [
      "LAVA job:         \(job.id) \(report.url.absoluteString)"
        + (job.device.map { " on \($0)" } ?? "") + (job.deviceType.map { " (\($0))" } ?? ""),
      "health:           \(job.health.rawValue)",
    ]
    if let attempt = report.attempt { lines.insert("attempt:          \(attempt)", at: 1) }
    if let stop = report.stop, let why = stop.outcome(id: job.id).reason {
      lines.append("stopped:          \(why)")
    }
    if let type = report.error.type { lines.append("error_type:       \(type)") }
    if let message = report.error.message {
      let shown = message.split(whereSeparator: \.isNewline)
      lines.append("error_msg:        \(shown.first.map(String.init) ?? "")")
      lines += shown.dropFirst().prefix(9).map { "                  \($0)" }
      if shown.count > 10 { lines.append("                  (\(shown.count - 10) more lines in the log)") }
    }
    if let comment = job.failureComment, !comment.isEmpty { lines.append("failure_comment:  \(comment)") }
    if let action = report.error.failedAction { lines.append("failed in action: \(action)") }
    if !report.failedTests.isEmpty && !ignoreTestFailures {
      lines.append("failed test cases (\(report.failedTests.count)):")
      lines += report.failedTests.prefix(whyFailedTests).map { "  ✘ \($0.suite)/\($0.name)" }
      if report.failedTests.count > whyFailedTests {
        lines.append("  and \(report.failedTests.count - whyFailedTests) more")
      }
    }
    if !report.error.lastTargetLines.isEmpty {
      lines.append("last \(count(report.error.lastTargetLines.count, "target line")) before the failure:")
      lines += report.error.lastTargetLines.map { "  " + $0 }
    }
    return lines
  }

  /// Writes an open "why it failed" section for each failed job.
  static func explain(
    _ reports: [LAVAJobReport], ignoreTestFailures: Bool, log: any JobLog, mask: (String) -> String
  ) async {
    for report in reports where failure(of: report, ignoreTestFailures: ignoreTestFailures) != nil {
      let text = whyItFailed(report, ignoreTestFailures: ignoreTestFailures).map { mask($0) + "\n" }.joined()
      await log.section(
        "lava_why_\(report.id)",
        header: LogColor.red.rawValue + "✘ Why LAVA job \(report.id) failed"
          + (report.attempt.map { " (attempt \($0))" } ?? "") + LAVALogRenderer.reset
      ) {
        await log.write(text)
      }
    }
  }

  /// One row per LAVA job: id, the attempt (when `submit` may retry), device, health, failed
  /// tests, URL.
  static func summaryTable(_ reports: [LAVAJobReport], ignoreTestFailures: Bool) -> String {
    let attempts = reports.contains { $0.attempt != nil }
    let header = ["LAVA job"] + (attempts ? ["attempt"] : []) + ["device", "health", "failed tests", "URL"]
    let rows =
      [header]
      + reports.map { report in
        [String(report.id)] + (attempts ? [report.attempt ?? "-"] : []) + [
          report.job.device ?? "-", report.stop.map(Self.stoppedHealth) ?? report.job.health.rawValue,
          report.testCasesUnavailable != nil
            ? "?" : String(report.failedTests.count) + (ignoreTestFailures ? " (ignored)" : ""),
          report.url.absoluteString,
        ]
      }
    let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
      row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
      }.joined(separator: "  ")
    }.joined(separator: "\n")
  }

  /// The health column of a job the runner cancelled: what stopped it.
  static func stoppedHealth(_ stop: LAVAFollowStop) -> String {
    switch stop {
    case .hang: "Hung (canceled)"
    case .queued: "Queued (canceled)"
    case .line: "Known issue (canceled)"
    case .group: "Canceled with its group"
    }
  }

  static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}

extension LAVAServer {
  /// The failed test cases of a finished job, or why they could not be read.
  func failedTests(of id: Int64, retrier: LAVARetrier) async -> ([LAVATestCase], String?) {
    let (cases, unavailable) = await testResults(of: id, retrier: retrier)
    return (cases.filter { $0.result == "fail" }, unavailable)
  }

  /// Every test case of a finished job, or why they could not be read.
  func testResults(of id: Int64, retrier: LAVARetrier) async -> ([LAVATestCase], String?) {
    do {
      return (
        try await retrier.run("the test results of LAVA job \(id)") { try await testCases(of: id) }, nil
      )
    } catch {
      return ([], retrier.context.mask(error))
    }
  }
}
