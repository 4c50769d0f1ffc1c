import Protocols
import RunnerCore

/// A job's result and the words that explain it: the last line of every job log, a GitLab job's
/// and `exec`'s alike.
package struct JobVerdict: Sendable, Equatable {
  package var outcome: JobOutcome
  /// Why the job failed; empty on success.
  package var summary: String

  package static let success = JobVerdict(outcome: .success, summary: "")

  package init(outcome: JobOutcome, summary: String) {
    self.outcome = outcome
    self.summary = summary
  }

  /// A failure for `error`: its failure reason and exit code when it is a ``JobFailure``
  /// (`unknown_failure` and 1 otherwise), its description as the summary.
  package init(failure error: any Error) {
    let failure = error as? any JobFailure
    self.init(
      outcome: .failed(failure?.failureReason ?? .unknownFailure, exitCode: failure?.exitCode ?? 1),
      summary: String(describing: error))
  }

  /// `Job succeeded`, or `ERROR: Job failed (REASON): SUMMARY`.
  package func write(to log: any JobLog) async {
    if outcome.state == .success {
      await log.line("Job succeeded", color: .green)
    } else {
      let reason = outcome.failureReason ?? .unknownFailure
      await log.error("Job failed (\(reason.rawValue)): \(summary)")
    }
  }
}
