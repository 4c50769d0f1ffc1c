import Foundation

/// What a command sees of the job it runs in. The runner provides one per job; tests provide
/// their own.
public protocol JobContext: Sendable {
  /// The job log: everything written here reaches the GitLab job log, masked.
  var log: any JobLog { get }

  /// The job's CI/CD variables, as GitLab sent them.
  var variables: JobVariables { get }

  /// A folder private to this job, removed when the job ends.
  var workingDirectory: URL { get }

  /// Finds `path` in the artifacts of the job's dependencies and returns a local copy.
  ///
  /// Throws an error naming the file and every dependency searched when it is not found.
  func dependencyFile(at path: String) async throws -> URL

  /// ``dependencyFile(at:)``, without the line the runner writes in the job log saying where
  /// the file was found when `quietly`: for a command resumed after a runner restart, whose
  /// first run wrote that line already.
  func dependencyFile(at path: String, quietly: Bool) async throws -> URL

  /// Offers a file to the job's artifact upload under `name` (a relative path such as
  /// `1234_log.yaml`). The job's `artifacts:` entries decide whether it is uploaded; the file
  /// is read when the upload happens, after the script.
  func offerArtifact(named name: String, file: URL) async throws

  /// `text` with every secret of the job (masked variables, tokens, what ``addMask(_:)``
  /// added) replaced by `[MASKED]`, for messages a command builds and files it writes.
  func mask(_ text: String) -> String

  /// Hides `secret` from now on wherever the job's secrets are hidden: the job log, ``mask(_:)``
  /// and every ``makeMasker()``. For a secret the command knows and the runner does not, such
  /// as a server token in a variable that is not masked. Register it before using it: what was
  /// written before is not revisited.
  func addMask(_ secret: String) async

  /// A streaming masker holding every secret of the job, for a file a command writes piece by
  /// piece (artifacts): the same byte-level masking as the job log, so a secret split across
  /// writes is still hidden.
  func makeMasker() -> any StreamMasker

  /// LAVA servers and definition checks.
  var lava: any LAVAConnector { get }

  /// Why the job is being cancelled, or `nil` while it is not. The runner also cancels the
  /// command's task; a command that must clean up (cancel LAVA jobs) reads this to decide how.
  var cancellation: JobCancellation? { get async }

  /// This script line's checkpoint store, for a command that resumes after a runner restart
  /// (``CommandMetadata/resumable``).
  var checkpoints: any CheckpointStore { get }

  /// When the GitLab job's timeout ends, on the continuous clock; `nil` when unknown. Commands
  /// use it to warn that a LAVA timeout is longer than the time left and to decide whether
  /// another attempt fits.
  var deadline: ContinuousClock.Instant? { get }
}

extension JobContext {
  public var checkpoints: any CheckpointStore { NoCheckpoints() }
  public var deadline: ContinuousClock.Instant? { nil }

  /// For a context that writes nothing when it finds a file.
  public func dependencyFile(at path: String, quietly: Bool) async throws -> URL {
    try await dependencyFile(at: path)
  }

  /// An error's description with every secret of the job masked, for messages about it.
  public func mask(_ error: any Error) -> String {
    mask(String(describing: error))
  }
}

/// Why a running job is asked to stop.
public enum JobCancellation: Sendable, Equatable {
  /// GitLab cancelled the job and lets `after_script` run (`Job-Status: canceling`).
  case canceledGracefully
  /// GitLab cancelled the job and wants it gone now (`canceled`, or the job token died).
  case canceledImmediately
  /// The job's timeout elapsed.
  case timedOut
  /// The runner is shutting down.
  case runnerShutdown
}
