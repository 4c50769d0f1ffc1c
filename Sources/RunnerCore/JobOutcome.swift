import Protocols

/// How a job ended, as reported to GitLab in the final `PUT /api/v4/jobs/:id`.
package struct JobOutcome: Sendable, Equatable {
  package enum State: String, Sendable { case success, failed }

  package var state: State
  package var failureReason: FailureReason?
  package var exitCode: Int

  package static let success = JobOutcome(state: .success, failureReason: nil, exitCode: 0)

  package static func failed(_ reason: FailureReason, exitCode: Int = 1) -> JobOutcome {
    JobOutcome(state: .failed, failureReason: reason, exitCode: exitCode)
  }
}
