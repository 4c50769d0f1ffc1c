import Foundation
import Protocols
import Synchronization

/// `submit`'s attempts: the definition is submitted and followed; when an attempt fails
/// because of LAVA or the lab (error type Infrastructure, Bug or Configuration, a hang, a
/// submission that did not reach LAVA, a known issue whose action is `retry`) it is submitted
/// again, up to LAVA_RETRIES more times and only while the GitLab job's time left can hold
/// another attempt. The job passes or fails on the last attempt.
struct LAVASubmitAttempts: Sendable {
  let command: SubmitCommand
  let session: LAVACommandSession
  /// The definition as checked, sent at every attempt.
  let definition: String
  /// Sees every LAVA log line as it is read; known issues attach here.
  var watcher: (any LAVALineWatcher)?
  /// Where a runner that died left the attempts; nil on a first run.
  var resume: SubmitCheckpoint?

  /// The error types LAVA gives to failures the job's author cannot fix.
  static let lavaErrorTypes: Set<String> = ["Infrastructure", "Bug", "Configuration"]

  var settings: LAVAAttemptSettings { session.settings.attempts }
  var file: String { command.file }

  /// Every attempt, the last one deciding the verdict (``conclude(_:)``).
  func run() async throws -> [LAVAAttempt] {
    let jobTimeout = await session.context.lava.jobTimeout(inDefinition: definition)
    if resume == nil { await warnIfLongerThanTimeLeft(jobTimeout) }
    let planned = settings.retries + 1
    var attempts: [LAVAAttempt] = resume?.earlier ?? []
    var resuming = resume
    while true {
      var attempt = LAVAAttempt(
        number: attempts.count + 1, planned: planned, submitted: resuming?.submitted ?? Date())
      let began = ContinuousClock.now
      try await perform(&attempt, resuming: resuming, earlier: attempts)
      resuming = nil
      attempt.ended = Date()
      attempt.retry = decide(after: attempt, took: ContinuousClock.now - began, jobTimeout: jobTimeout)
      attempts.append(attempt)
      guard let decision = attempt.retry else { break }
      let what = attempt.jobIDs.isEmpty ? "The submission" : "LAVA job " + ids(attempt)
      let log = session.context.log
      guard decision.retry else {
        if case .infrastructureFailure(let why) = attempt.outcome {
          await log.warning(
            "\(what) (\(attempt.label)) failed because of LAVA: \(why). Not submitting again: \(decision.why)"
          )
        }
        break
      }
      await log.warning(
        "\(what) (\(attempt.label)) failed because of LAVA: \(attempt.outcome.reason ?? "?"). Submitting "
          + "\(file) again as attempt \(attempt.number + 1) of \(planned): \(decision.why)")
      try await Task.sleep(for: session.polling.retry.delay(attempt: attempt.number))
    }
    return attempts
  }

  /// The summary table of every attempt's LAVA jobs, then the verdict of the last attempt;
  /// `lava-report.json` and `lava.env` are offered whatever the verdict.
  func conclude(_ attempts: [LAVAAttempt]) async throws {
    try await session.offeringReports(
      file: file, attempts: attempts.map(\.reports),
      retries: attempts.map { $0.retry.map { .init(retried: $0.retry, reason: $0.why) } },
      dotenv: attempts.last?.reports ?? []
    ) {
      try await verdict(attempts)
    }
  }

  private func verdict(_ attempts: [LAVAAttempt]) async throws {
    guard let last = attempts.last else { return }
    let history =
      attempts.count > 1
      ? "\n"
        + attempts.map {
          "  \($0.label): \($0.jobIDs.isEmpty ? "not submitted" : "LAVA job " + ids($0)), "
            + "\($0.outcome.name)\($0.outcome.reason.map { " (\($0))" } ?? "")"
        }.joined(separator: "\n")
      : ""
    guard !last.reports.isEmpty else {
      let reports = attempts.flatMap(\.reports)
      if !reports.isEmpty {
        await session.showTable(reports)
      }
      throw CommandFailure(
        .runnerSystemFailure,
        session.context.mask(
          "\(session.name): \(file) could not be submitted to LAVA (\(last.label)): \(last.outcome.reason ?? "?")"
            + history))
    }
    try await session.conclude(
      last.reports, ids: last.jobIDs, shown: attempts.flatMap(\.reports), history: history)
  }

  /// Submits once and follows the LAVA jobs to their end; after a runner restart, goes on from
  /// the phase `saved` (SubmitCommand+Resume.swift): a submission that may have reached LAVA is
  /// looked up by its marker before it is sent again.
  private func perform(
    _ attempt: inout LAVAAttempt, resuming saved: SubmitCheckpoint?, earlier: [LAVAAttempt]
  ) async throws {
    let context = session.context
    let fresh = SubmitCheckpoint(phase: .submitting, earlier: earlier, submitted: attempt.submitted)
    let progress = SubmitProgress(context: context, state: saved ?? fresh)
    var state: SubmitCheckpoint
    if let saved, saved.phase != .submitting {
      state = saved
    } else {
      var marker = saved?.marker
      var found: [Int64] = []
      if saved != nil {
        found = try await command.submitted(marker: marker, session)
      } else if context.keepsCheckpoints {
        marker = LAVAJobMarker.make()
      }
      let marked = marker.flatMap { LAVAJobMarker.insert($0, into: definition) }
      if marked == nil { marker = nil }
      if saved == nil {
        var intent = fresh
        intent.marker = marker
        try await progress.save(intent)
      }
      let ids: [Int64]
      if !found.isEmpty {
        ids = found
      } else {
        let lastTry = Mutex<Retryability?>(nil)
        do {
          // Retried only while LAVA cannot have received it (refused, 408, 429): see LAVAServer.submit.
          ids = try await session.retrier.run("the submission of \(file)") {
            do {
              return try await session.server.submit(definition: marked ?? definition)
            } catch {
              lastTry.withLock { $0 = session.polling.retry.retryability(of: error) }
              throw error
            }
          }
        } catch {
          if Task.isCancelled { throw error }
          let failure = session.failure("LAVA did not accept \(file)", error)
          // An outage outlasted the budget: LAVA certainly did not get the definition.
          if case .outage? = lastTry.withLock({ $0 }) {
            attempt.outcome = .infrastructureFailure(
              "the submission did not reach LAVA: \(context.mask(error))")
            await context.log.error(failure.message)
            return
          }
          throw failure
        }
        guard !ids.isEmpty else {
          throw CommandFailure(.runnerSystemFailure, "submit: LAVA accepted \(file) but returned no job id")
        }
      }
      state = fresh
      state.phase = .submitted
      state.marker = marker
      state.ids = ids
      try await progress.save(state)
    }
    let ids = state.ids
    attempt.jobIDs = ids
    if state.phase == .submitted {
      for id in ids {
        await context.log.info(
          "LAVA job \(id): \(session.server.webURL(of: id).absoluteString)"
            + (attempt.planned > 1 ? " (\(attempt.label))" : ""))
      }
    }
    let followed = try await session.cancellingLAVAJobs(ids) { [state] in
      if state.phase == .concluding {
        return try await command.concludedReports(
          resuming: state, session,
          label: attempt.planned > 1 ? "\(attempt.number) of \(attempt.planned)" : nil)
      }
      return try await command.follow(
        ids, session, attempt: attempt, watcher: watcher, resuming: state, progress: progress)
    }
    attempt.started = followed.started
    attempt.reports = followed.reports
    attempt.outcome = outcome(of: followed.reports)
  }

  /// Passed, an infrastructure failure when every failed LAVA job failed because of LAVA, or
  /// failed.
  func outcome(of reports: [LAVAJobReport]) -> LAVAAttemptOutcome {
    let ignore = session.settings.ignoreTestFailures
    var causes: [String] = []
    for report in reports {
      guard let failure = LAVAVerdict.failure(of: report, ignoreTestFailures: ignore) else { continue }
      guard let cause = Self.infrastructureCause(of: report, ignoreTestFailures: ignore) else {
        return .failed(String(failure.message.prefix { $0 != "\n" }))
      }
      causes.append(cause)
    }
    return causes.isEmpty ? .passed : .infrastructureFailure(causes.joined(separator: "; "))
  }

  /// Why `report`'s job failed because of LAVA or the lab; nil when its content is to blame
  /// (failed tests, a job definition error) or it did not fail.
  static func infrastructureCause(of report: LAVAJobReport, ignoreTestFailures: Bool) -> String? {
    if let stop = report.stop {
      if case .infrastructureFailure(let why) = stop.outcome(id: report.id) { return why }
      return nil
    }
    guard report.job.health == .incomplete, let type = report.error.type, lavaErrorTypes.contains(type) else {
      return nil
    }
    // LAVA's own `lava` suite records the job's failure; other suites are the job's tests.
    if !ignoreTestFailures && report.failedTests.contains(where: { $0.suite != "lava" }) { return nil }
    return "LAVA job \(report.id) ended Incomplete with error type \(type)"
      + (report.error.message.map { ": \($0.prefix { $0 != "\n" })" } ?? "")
  }

  /// Whether another attempt follows `attempt`, and why; nil when it passed.
  func decide(after attempt: LAVAAttempt, took: Duration, jobTimeout: Duration?) -> LAVARetryDecision? {
    switch attempt.outcome {
    case .passed, .unfinished:
      return nil
    case .failed(let why):
      return LAVARetryDecision(
        retry: false, why: "\(why); failed tests and job definition errors are never retried")
    case .infrastructureFailure:
      break
    }
    guard case .outage = session.polling.retry.retryability(of: LAVAAttemptFailure(outcome: attempt.outcome))
    else { return LAVARetryDecision(retry: false, why: "not a failure of LAVA") }
    guard attempt.number < attempt.planned else {
      return LAVARetryDecision(
        retry: false,
        why: settings.retries == 0
          ? "LAVA_RETRIES is 0" : "LAVA_RETRIES=\(settings.retries) retries are used up")
    }
    guard let deadline = session.context.deadline else {
      return LAVARetryDecision(retry: true, why: "the GitLab job's time left is unknown")
    }
    let left = deadline - .now
    let (estimate, basis) =
      jobTimeout.map { ($0, "the definition's job timeout") } ?? (took, "the last attempt's duration")
    guard left > estimate else {
      return LAVARetryDecision(
        retry: false,
        why:
          "the GitLab job has \(DurationText.format(left)) left, less than the \(DurationText.format(estimate)) "
          + "another attempt may take (\(basis))")
    }
    return LAVARetryDecision(
      retry: true,
      why:
        "the GitLab job has \(DurationText.format(left)) left, enough for the \(DurationText.format(estimate)) "
        + "another attempt may take (\(basis))")
  }

  /// Warns when LAVA may run the job longer than GitLab lets the GitLab job run.
  private func warnIfLongerThanTimeLeft(_ jobTimeout: Duration?) async {
    guard let jobTimeout, let deadline = session.context.deadline else { return }
    let left = deadline - .now
    guard jobTimeout > left else { return }
    await session.context.log.warning(
      "\(file) lets LAVA run the job for up to \(DurationText.format(jobTimeout)) (timeouts: job), but the GitLab "
        + "job has \(DurationText.format(left)) left: GitLab may stop it first; lower the job timeout or raise "
        + "the GitLab job's timeout")
  }

  private func ids(_ attempt: LAVAAttempt) -> String {
    attempt.jobIDs.map(String.init).joined(separator: ", ")
  }
}

/// An attempt's failure as the one ``RetryPolicy`` classifies errors: a failure of LAVA is an
/// outage of the lab, anything else is final.
struct LAVAAttemptFailure: Error, RetryClassified {
  var outcome: LAVAAttemptOutcome
  var retryability: Retryability { outcome.retryability }
}
