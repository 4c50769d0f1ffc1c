/// GitLab's failure reasons that a job run by lava-runner can end with.
public enum FailureReason: String, Sendable, Equatable, CaseIterable {
  /// The job's own content failed: a LAVA test failed, the definition was wrong, bad input.
  case scriptFailure = "script_failure"
  /// Something outside the job's control failed: LAVA infrastructure, the runner, a server.
  case runnerSystemFailure = "runner_system_failure"
  /// The job's timeout elapsed.
  case jobExecutionTimeout = "job_execution_timeout"
  /// The runner was shut down while the job ran.
  case runnerInterrupted = "runner_interrupted"
  /// Talking to GitLab failed.
  case apiFailure = "api_failure"
  /// None of the above is known to be true.
  case unknownFailure = "unknown_failure"
}

/// An error that knows which failure reason is the truthful one for the job it ends.
public protocol JobFailure: Error, CustomStringConvertible {
  var failureReason: FailureReason { get }
  /// The exit code reported to GitLab; 1 unless a command says otherwise.
  var exitCode: Int { get }
}

extension JobFailure {
  public var exitCode: Int { 1 }
}

/// The failure a command raises when it has decided how the job ends.
public struct CommandFailure: JobFailure, Equatable {
  public var failureReason: FailureReason
  public var message: String
  public var exitCode: Int

  public init(_ reason: FailureReason, _ message: String, exitCode: Int = 1) {
    self.failureReason = reason
    self.message = message
    self.exitCode = exitCode
  }

  public var description: String { message }
}
