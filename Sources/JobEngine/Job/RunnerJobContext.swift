import Foundation
import GitLabAPI
import HTTP
import Protocols
import RunnerCore
import Synchronization

/// The job context the runner gives commands: the masked trace, the job's variables, files
/// from dependency artifacts, artifact offers, and GitLab's cancellation.
package final class RunnerJobContext: JobContext {
  package let trace: JobTrace
  package let variables: JobVariables
  package let workingDirectory: URL
  package let control: JobControl
  package let dependencies: DependencyFiles
  package let lava: any LAVAConnector
  private let masks: Mutex<JobMasks>
  /// Files offered by commands, by their name in the artifacts.
  package let offers = ArtifactOffers()
  /// The job's record in the state directory (`--state-dir`), if the runner keeps one.
  package let state: JobState?
  /// When GitLab's timeout for the job ends: the job's `runner_info.timeout` from when the
  /// runner took the job.
  package let deadline: ContinuousClock.Instant?

  package init(
    trace: JobTrace, variables: JobVariables, workingDirectory: URL, control: JobControl,
    dependencies: DependencyFiles, lava: any LAVAConnector, masker: SecretMasker, state: JobState? = nil,
    deadline: ContinuousClock.Instant? = nil
  ) {
    self.state = state
    self.deadline = deadline
    self.masks = Mutex(JobMasks(masker))
    self.lava = lava
    self.trace = trace
    self.variables = variables
    self.workingDirectory = workingDirectory
    self.control = control
    self.dependencies = dependencies
  }

  package var log: any JobLog { trace }

  package func mask(_ text: String) -> String { masks.withLock { $0.mask(text) } }

  package func addMask(_ secret: String) async {
    masks.withLock { $0.add(secret, to: trace) }
    if let state, !secret.isEmpty { state.note { if !$0.masks.contains(secret) { $0.masks.append(secret) } } }
  }

  package func makeMasker() -> any StreamMasker { masks.withLock { $0.makeMasker() } }

  package func dependencyFile(at path: String) async throws -> URL {
    try await dependencies.file(at: path)
  }

  package func dependencyFile(at path: String, quietly: Bool) async throws -> URL {
    try await dependencies.file(at: path, announcing: !quietly)
  }

  package func offerArtifact(named name: String, file: URL) async throws {
    try offers.offer(named: name, file: file)
    state?.note { $0.offers[name] = file.path }
  }

  package var checkpoints: any CheckpointStore { state?.checkpoints ?? NoCheckpoints() }

  package var cancellation: JobCancellation? { control.cancellation }
}
