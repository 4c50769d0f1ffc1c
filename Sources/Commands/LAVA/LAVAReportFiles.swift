import Foundation
import Protocols

/// `lava-report.json`: what happened to every LAVA job of a command, for machines (dashboards,
/// later jobs, bisection scripts). Its schema is documented in docs/lava-report.md; a change
/// that removes or renames a field raises ``schemaVersion``.
struct LAVAReportDocument: Encodable, Sendable, Equatable {
  static let schemaVersion = 1

  var schemaVersion = LAVAReportDocument.schemaVersion
  /// `submit` or `monitor-file`.
  var command: String
  /// The file the command read: the definition or the job id list.
  var file: String
  var lavaURL: String
  /// Whether the GitLab job passes on these LAVA jobs.
  var passed: Bool
  /// `script_failure` or `runner_system_failure` when it does not.
  var failureReason: String?
  var failureMessage: String?
  var attempts: [Attempt]

  struct Attempt: Encodable, Sendable, Equatable {
    /// 1 for the first.
    var number: Int
    /// The LAVA jobs of the attempt: one, or several for a multinode definition.
    var jobs: [Job]
    var retry: Retry
  }

  /// Whether the definition was submitted again after this attempt, and why.
  struct Retry: Encodable, Sendable, Equatable {
    var retried: Bool
    var reason: String
  }

  struct Job: Encodable, Sendable, Equatable {
    var id: Int64
    var url: String
    var device: String?
    var deviceType: String?
    var state: String
    var health: String
    var errorType: String?
    var errorMessage: String?
    var failureComment: String?
    /// As LAVA writes them: ISO 8601, UTC.
    var submitTime: String?
    var startTime: String?
    var endTime: String?
    /// The top-level action the job failed in, e.g. `3 lava-test-retry`.
    var failedAction: String?
    var actions: [Action]
    var tests: [Test]
    /// Why `tests` is empty although the job may have some: they could not be read.
    var testsUnavailable: String?
    /// The known issue (LAVA_KNOWN_ISSUES) whose retry or fail action ended the job early.
    var knownIssue: KnownIssue?
  }

  struct KnownIssue: Encodable, Sendable, Equatable {
    var action: String
    var message: String

    /// The known issue that stopped the job, if that is what stopped it.
    init?(_ stop: LAVAFollowStop?) {
      switch stop {
      case .line(.retry(let message))?: (action, self.message) = ("retry", message)
      case .line(.fail(let message))?: (action, self.message) = ("fail", message)
      default: return nil
      }
    }
  }

  struct Action: Encodable, Sendable, Equatable {
    var number: String
    var name: String
    var timeout: String?
    var start: String?
    var end: String?
    var durationSeconds: Double?
  }

  struct Test: Encodable, Sendable, Equatable {
    var suite: String
    var name: String
    var result: String
    /// LAVA's decimal text, kept as text so that no digit is lost.
    var measurement: String?
    var units: String?
  }

  /// The report of LAVA jobs, attempts in order.
  init(
    command: String, file: String, lavaURL: URL, attempts: [(reports: [LAVAJobReport], retry: Retry)],
    failure: CommandFailure?
  ) {
    self.command = command
    self.file = file
    self.lavaURL = lavaURL.absoluteString
    passed = failure == nil
    failureReason = failure?.failureReason.rawValue
    failureMessage = failure?.message
    self.attempts = attempts.enumerated().map { index, attempt in
      Attempt(number: index + 1, jobs: attempt.reports.map(Job.init), retry: attempt.retry)
    }
  }

  /// The JSON text: keys in snake_case and sorted, so that two reports diff well.
  func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(self)
  }
}

extension LAVAReportDocument.Job {
  init(_ report: LAVAJobReport) {
    let job = report.job
    self.init(
      id: job.id, url: report.url.absoluteString, device: job.device, deviceType: job.deviceType,
      state: job.state.rawValue, health: job.health.rawValue, errorType: report.error.type,
      errorMessage: report.error.message, failureComment: job.failureComment, submitTime: job.submitTime,
      startTime: job.startTime, endTime: job.endTime, failedAction: report.error.failedAction,
      actions: report.error.actions.actions.map {
        LAVAReportDocument.Action(
          number: $0.number, name: $0.name, timeout: $0.timeout, start: $0.start, end: $0.end,
          durationSeconds: $0.seconds)
      },
      tests: report.testCases.map {
        LAVAReportDocument.Test(
          suite: $0.suite, name: $0.name, result: $0.result, measurement: $0.measurement, units: $0.units)
      },
      testsUnavailable: report.testCasesUnavailable,
      knownIssue: LAVAReportDocument.KnownIssue(report.stop))
  }
}

/// `lava.env`: the dotenv report later jobs of the pipeline read (`artifacts: reports: dotenv`).
/// GitLab takes `KEY=VALUE` lines only, at most 20 variables and 5 KiB, keys of letters, digits
/// and `_`, values on one line with no surrounding spaces; this file keeps within all of that.
///
/// With several LAVA jobs the single-valued variables describe the first one: for `submit` the
/// first LAVA job of the last attempt (the one a multinode submission lists first), for
/// `monitor-file` the first id of the list; `LAVA_JOB_IDS` lists them all, separated by spaces.
enum LAVADotenv {
  static let fileName = "lava.env"
  /// GitLab's `dotenv_size` limit (5 KiB); each value is cut well below it.
  static let maximumValueBytes = 1024

  static func text(of reports: [LAVAJobReport], mask: (String) -> String) -> String {
    guard let first = reports.first else { return "" }
    let pairs: [(String, String)] = [
      ("LAVA_JOB_ID", String(first.id)),
      ("LAVA_JOB_IDS", reports.map { String($0.id) }.joined(separator: " ")),
      ("LAVA_JOB_URL", first.url.absoluteString),
      ("LAVA_DEVICE", first.job.device ?? ""),
      ("LAVA_DEVICE_TYPE", first.job.deviceType ?? ""),
      ("LAVA_HEALTH", first.job.health.rawValue),
    ]
    return pairs.map { "\($0.0)=\(value(mask($0.1)))\n" }.joined()
  }

  /// One line, no control characters, no surrounding spaces (GitLab strips them), bounded.
  static func value(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      scalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "_" : scalar)
    }
    var shown = String(scalars).trimmingCharacters(in: .whitespaces)
    while shown.utf8.count > maximumValueBytes { shown.removeLast() }
    return shown
  }
}

extension LAVACommandSession {
  /// Runs `verdict` (which throws the job's failure), then writes `lava-report.json` and
  /// `lava.env` with its outcome. `attempts`: the LAVA jobs of each attempt; `retries`: each
  /// attempt's retry decision when the command made one (else one is derived from the verdict).
  func offeringReports(
    file: String, attempts: [[LAVAJobReport]], retries: [LAVAReportDocument.Retry?], dotenv: [LAVAJobReport],
    verdict: () async throws -> Void
  ) async throws {
    var failure: CommandFailure?
    do {
      try await verdict()
    } catch let thrown as CommandFailure {
      failure = thrown
    } catch {
      await offerReports(file: file, attempts: attempts, retries: retries, failure: nil, dotenv: dotenv)
      throw error
    }
    await offerReports(file: file, attempts: attempts, retries: retries, failure: failure, dotenv: dotenv)
    if let failure { throw failure }
  }

  /// Writes `lava-report.json` and `lava.env` into the job's folder and offers both: the job's
  /// `artifacts:` decide whether they are uploaded, as for the logs. Both are masked. A file
  /// that cannot be written is a warning: the verdict does not depend on it.
  private func offerReports(
    file: String, attempts: [[LAVAJobReport]], retries: [LAVAReportDocument.Retry?], failure: CommandFailure?,
    dotenv: [LAVAJobReport]
  ) async {
    let decided = attempts.enumerated().map { index, reports in
      let own = LAVAVerdict.failure(
        of: reports, ignoreTestFailures: settings.ignoreTestFailures, command: name)
      let retry =
        (index < retries.count ? retries[index] : nil)
        ?? LAVAReportFiles.finalDecision(index == attempts.count - 1 ? failure : own, command: name)
      return (reports: reports, retry: retry)
    }
    let document = LAVAReportDocument(
      command: name, file: context.mask(file), lavaURL: settings.url, attempts: decided, failure: failure)
    do {
      try FileManager.default.createDirectory(at: context.workingDirectory, withIntermediateDirectories: true)
      let json = context.workingDirectory.appendingPathComponent(LAVAReportFiles.report)
      try Data(context.mask(String(decoding: try document.json(), as: UTF8.self)).utf8).write(to: json)
      try await context.offerArtifact(named: LAVAReportFiles.report, file: json)
      let env = context.workingDirectory.appendingPathComponent(LAVADotenv.fileName)
      try Data(LAVADotenv.text(of: dotenv, mask: context.mask).utf8).write(to: env)
      try await context.offerArtifact(named: LAVADotenv.fileName, file: env)
    } catch {
      await context.log.warning(
        "\(name): could not write \(LAVAReportFiles.report) or lava.env: \(context.mask(error))")
    }
  }
}

enum LAVAReportFiles {
  static let report = "lava-report.json"

  /// Why an attempt that was not retried was not: what the report says when the command has no
  /// retries to make (`monitor-file` never resubmits; `submit` decides per attempt).
  static func finalDecision(_ failure: CommandFailure?, command: String) -> LAVAReportDocument.Retry {
    guard let failure else { return .init(retried: false, reason: "passed") }
    if command == MonitorFileCommand.metadata.name {
      return .init(retried: false, reason: "monitor-file never resubmits: it did not submit the job")
    }
    return failure.failureReason == .scriptFailure
      ? .init(
        retried: false, reason: "failed because of the job's content (tests or definition): never retried")
      : .init(retried: false, reason: "failed because of LAVA or the lab; this attempt was the last")
  }
}
