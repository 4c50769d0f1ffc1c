import Foundation
import Protocols

/// One submission of a definition by `submit` and how it ended: what a report
/// (`lava-report.json`), the summary table and "why it failed" read. `monitor-file` has one
/// attempt, never retried.
struct LAVAAttempt: Sendable, Codable {
  /// 1 for the first submission.
  var number: Int
  /// The most attempts the job may make (1 + LAVA_RETRIES), for "attempt 2 of 3".
  var planned: Int
  /// The LAVA jobs of the submission (several for multinode); empty when it did not reach LAVA.
  var jobIDs: [Int64] = []
  /// When the definition was sent.
  var submitted: Date
  /// When the first LAVA job of the attempt was seen running.
  var started: Date?
  /// When the attempt was over (its LAVA jobs finished or were cancelled).
  var ended: Date?
  var outcome: LAVAAttemptOutcome = .unfinished
  /// Whether the definition is submitted again after this attempt, and why (nil until decided).
  var retry: LAVARetryDecision?
  /// One report per LAVA job that finished, in `jobIDs` order.
  var reports: [LAVAJobReport] = []

  /// `attempt 2 of 3`.
  var label: String { "attempt \(number) of \(planned)" }

  /// From submission to end.
  var duration: Duration? {
    ended.map { .milliseconds(Int64(($0.timeIntervalSince(submitted) * 1000).rounded())) }
  }
}

/// How an attempt ended.
enum LAVAAttemptOutcome: Sendable, Equatable, Codable {
  case unfinished
  /// Every LAVA job passed.
  case passed
  /// The attempt failed because of LAVA or the lab, not the job's content: an error type
  /// Infrastructure, Bug or Configuration, a hang, a submission that did not reach LAVA, a
  /// known issue whose action is `retry`. Submitting again may pass.
  case infrastructureFailure(String)
  /// The attempt failed for a reason another submission would not change: failed tests, a job
  /// definition error, a cancellation in LAVA, a queue timeout, a known issue whose action is
  /// `fail`.
  case failed(String)

  /// In the vocabulary of the one ``RetryPolicy``: an infrastructure failure is an outage of
  /// the lab (asking again may help), anything else is final.
  var retryability: Retryability {
    if case .infrastructureFailure = self { return .outage(retryAfter: nil) }
    return .final
  }

  /// `passed`, `infrastructure failure`, `failed`: for tables and reports.
  var name: String {
    switch self {
    case .unfinished: "unfinished"
    case .passed: "passed"
    case .infrastructureFailure: "infrastructure failure"
    case .failed: "failed"
    }
  }

  var reason: String? {
    switch self {
    case .infrastructureFailure(let why), .failed(let why): why
    case .unfinished, .passed: nil
    }
  }
}

/// Whether another attempt follows, and the reason the job log gives.
struct LAVARetryDecision: Sendable, Equatable, Codable {
  var retry: Bool
  var why: String
}

/// What a ``LAVALineWatcher`` makes of a log line.
enum LAVALineVerdict: Sendable, Equatable, Codable {
  /// Print this message (a warning) and carry on.
  case note(String)
  /// End the attempt now as an infrastructure failure: the LAVA job is cancelled and, budget
  /// and time allowing, the definition submitted again.
  case retry(String)
  /// End the attempt now and fail the GitLab job with this message; never retried.
  case fail(String)
}

/// Looks at every log line of a followed LAVA job as it is read, in order (known issues attach
/// here). `action` is the top-level LAVA action running, e.g. `2 boot-image-retry`, when known.
protocol LAVALineWatcher: Sendable {
  func inspect(_ line: LAVALogLine, of id: Int64, action: String?, at time: ContinuousClock.Instant) async
    -> LAVALineVerdict?
}

/// Why the follower stopped following a LAVA job before LAVA finished it.
enum LAVAFollowStop: Sendable, Equatable, Codable {
  /// Running, and no new log line for `quiet`.
  case hang(quiet: Duration)
  /// Still queued after `waited`; `facts` about its device type, or why they are unknown.
  case queued(waited: Duration, facts: String)
  /// A ``LAVALineWatcher`` ended it.
  case line(LAVALineVerdict)
  /// Another job of the same multinode submission, `id`, was stopped for `reason`, and this one
  /// with it.
  indirect case group(id: Int64, reason: LAVAFollowStop)

  /// A hang, a queue timeout or a known issue's `retry` is the lab's fault; a known issue's
  /// `fail` is the job's.
  var failureReason: FailureReason {
    switch self {
    case .hang, .queued, .line(.retry): .runnerSystemFailure
    case .line(.fail), .line(.note): .scriptFailure
    case .group(_, let reason): reason.failureReason
    }
  }

  /// The attempt's outcome when the follower stopped this way.
  func outcome(id: Int64) -> LAVAAttemptOutcome {
    switch self {
    case .hang(let quiet):
      .infrastructureFailure(
        "LAVA job \(id) printed nothing for \(DurationText.format(quiet)) while running "
          + "(LAVA_HANG_TIMEOUT): the device or its worker hung")
    case .queued(let waited, let facts):
      .failed(
        "LAVA job \(id) was still queued after \(DurationText.format(waited)) (LAVA_QUEUE_TIMEOUT): \(facts)")
    case .line(.retry(let message)): .infrastructureFailure("LAVA job \(id): \(message)")
    case .line(.fail(let message)), .line(.note(let message)): .failed("LAVA job \(id): \(message)")
    case .group(let other, let reason):
      switch reason.outcome(id: other) {
      case .infrastructureFailure(let why):
        .infrastructureFailure("LAVA job \(id) was canceled with its multinode group: \(why)")
      case .failed(let why): .failed("LAVA job \(id) was canceled with its multinode group: \(why)")
      case .passed, .unfinished: .failed("LAVA job \(id) was canceled with its multinode group")
      }
    }
  }
}

/// When the runner stops one job of a multinode submission, the others are canceled with it
/// and their failure is that job's.
enum LAVAGroupStop {
  /// The first job stopped by the runner, with why.
  static func first(in stops: [(Int64, LAVAFollowStop?)]) -> (id: Int64, reason: LAVAFollowStop)? {
    // A job canceled with its group names the one stopped first: that one is the cause.
    let own = stops.first {
      if case .group? = $0.1 { return false }
      return $0.1 != nil
    }
    return (own ?? stops.first { $0.1 != nil }).map { ($0.0, $0.1!) }
  }

  /// The stop of `id`, canceled because of `stopped`; nil for `stopped` itself.
  static func of(_ id: Int64, _ stopped: (id: Int64, reason: LAVAFollowStop)) -> LAVAFollowStop? {
    id == stopped.id ? nil : .group(id: stopped.id, reason: stopped.reason)
  }

  /// `outcome` of a job that ended after the runner had canceled it with `stopped`'s group: its
  /// stop is the group's, even when its own watchdog fired while the cancel was on its way (a
  /// group whose jobs hang together is canceled because of the first one the runner saw).
  static func canceled(
    _ outcome: LAVALogFollower.Outcome, by stopped: (id: Int64, outcome: LAVALogFollower.Outcome)?
  ) -> LAVALogFollower.Outcome {
    guard let stopped, let reason = stopped.outcome.stop, outcome.stop != nil else { return outcome }
    var outcome = outcome
    outcome.stop = .group(id: stopped.id, reason: reason)
    return outcome
  }

  /// Cancels `ids` in LAVA, said in the job log; their followers then see them end.
  static func cancel(_ ids: [Int64], after stopped: Int64, session: LAVACommandSession) async {
    for id in ids {
      do {
        try await session.server.cancel(id)
        await session.context.log.warning(
          "LAVA job \(id): canceled with LAVA job \(stopped) of the same multinode submission")
      } catch {
        if Task.isCancelled { return }
        await session.context.log.error(
          "LAVA job \(id) could not be canceled with LAVA job \(stopped): \(session.context.mask(error))")
      }
    }
  }
}
