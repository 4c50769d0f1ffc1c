import Protocols
import RunnerCore

/// How a running job is told to stop: GitLab cancelling it, the timeout, a runner shutdown.
/// The first request wins; later ones are ignored. Jobs are stopped through this, not by
/// cancelling their task, so that they can still report their final state to GitLab.
package final class JobControl: Sendable {
  private let latch = Latch<JobCancellation>()

  package init() {}

  package var cancellation: JobCancellation? { latch.value }

  /// Asks the job to stop. Returns whether this was the first request.
  @discardableResult
  package func cancel(_ reason: JobCancellation) -> Bool { latch.set(reason) }

  /// Calls `handler` once the job is asked to stop (at once if it was).
  package func whenCanceled(_ handler: @escaping @Sendable (JobCancellation) -> Void) {
    latch.observe(handler)
  }
}
