import Foundation
import GitLabAPI
import Protocols
import RunnerCore

/// The job's state updates: `running` keep-alives while it lasts, and the final state, retried
/// until GitLab has it, so that no job is left "running" in GitLab.
package struct JobReporter: Sendable {
  package let client: GitLabClient
  package let jobID: Int64
  package let jobToken: String
  package let control: JobControl
  package var keepAliveInterval: Duration = .seconds(30)
  package var backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(30))
  /// How long the final update keeps trying before the runner gives up on it.
  package var finalUpdatePatience: Duration = .seconds(600)

  /// Sends `running` every interval until cancelled; passes GitLab's `Job-Status` on.
  /// `onEachInterval` runs at each interval before the request, whatever GitLab answers.
  package func keepAlive(onEachInterval: (@Sendable () -> Void)? = nil) async {
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: keepAliveInterval)
      } catch {
        return
      }
      onEachInterval?()
      do {
        let reply = try await client.updateJob(jobID: jobID, jobToken: jobToken, .running)
        switch reply.status {
        case 403, 404: control.cancel(.canceledImmediately)
        default: JobStatusSignal.apply(reply.jobStatus, to: control)
        }
      } catch {
        // A missed keep-alive is harmless; the next one or the final update follows.
      }
    }
  }

  package enum FinalUpdateResult: Equatable, Sendable {
    /// GitLab has the state.
    case accepted
    /// The job is gone from GitLab (cancelled and ended, or deleted): nothing to report.
    case jobGone(status: Int)
    /// GitLab did not take it in time; the job will stay running there until its timeout.
    case gaveUp(lastProblem: String)
  }

  /// Sends the final state until GitLab accepts it. `resendTrace` is called on 412 (GitLab
  /// lost the log and wants it again from offset 0) and must return once it is all sent.
  package func reportFinal(
    _ outcome: JobOutcome, checksum: String, size: Int64, resendTrace: @Sendable () async -> Void
  ) async -> FinalUpdateResult {
    let update = GitLabClient.JobUpdate(
      state: outcome.state.rawValue, failureReason: outcome.failureReason, exitCode: outcome.exitCode,
      checksum: checksum, bytesize: size)
    let clock = ContinuousClock()
    let deadline = clock.now + finalUpdatePatience
    var attempt = 0
    var lastProblem = ""
    while clock.now < deadline {
      attempt += 1
      var retryAfter: Duration?
      do {
        let reply = try await client.updateJob(jobID: jobID, jobToken: jobToken, update)
        switch reply.status {
        case 200:
          return .accepted
        case 202:
          // Accepted, but GitLab is still putting the log together: ask again.
          lastProblem = "GitLab keeps answering 202 (still processing the log)"
          retryAfter = reply.retryAfter
        case 412:
          lastProblem = "GitLab asked for the whole log again (412)"
          await resendTrace()
        case 403, 404:
          return .jobGone(status: reply.status)
        default:
          lastProblem = "GitLab answered \(reply.status)"
          retryAfter = reply.retryAfter
        }
      } catch {
        lastProblem = error.description
      }
      if Task.isCancelled { break }
      try? await Task.sleep(
        for: min(backoff.delay(attempt: attempt, retryAfter: retryAfter), deadline - clock.now))
    }
    return .gaveUp(lastProblem: lastProblem)
  }
}
