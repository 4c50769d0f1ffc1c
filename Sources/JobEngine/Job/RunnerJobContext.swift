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
  private let offers = Mutex<[String: URL]>([:])

  package init(
    trace: JobTrace, variables: JobVariables, workingDirectory: URL, control: JobControl,
    dependencies: DependencyFiles, lava: any LAVAConnector, masker: SecretMasker
  ) {
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
  }

  package func makeMasker() -> any StreamMasker { masks.withLock { $0.makeMasker() } }

  package func dependencyFile(at path: String) async throws -> URL {
    try await dependencies.file(at: path)
  }

  package func offerArtifact(named name: String, file: URL) async throws {
    let normalized = try ArtifactName.normalize(name)
    offers.withLock { $0[normalized] = file }
  }

  /// Files offered by commands, by their name in the artifacts.
  package var offeredArtifacts: [String: URL] { offers.withLock { $0 } }

  package var cancellation: JobCancellation? { control.cancellation }
}

/// Names under which commands offer artifacts: relative, without `..`.
package enum ArtifactName {
  package static func normalize(_ name: String) throws(ArtifactNameError) -> String {
    let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    guard !name.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
      throw ArtifactNameError(name: name)
    }
    return parts.joined(separator: "/")
  }
}

package struct ArtifactNameError: JobFailure {
  package let name: String
  package var failureReason: FailureReason { .runnerSystemFailure }
  package var description: String {
    "an artifact was offered as '\(name)', which is not a relative path inside the job's artifacts"
  }
}
