import Foundation
import Masking
import Protocols
import Synchronization

/// The job context the runner gives commands: the masked trace, the job's variables, files
/// from dependency artifacts, artifact offers, and GitLab's cancellation.
final class RunnerJobContext: JobContext {
  let trace: JobTrace
  let variables: JobVariables
  let workingDirectory: URL
  let control: JobControl
  let dependencies: DependencyFiles
  let lava: any LAVAConnector
  private let masks: Mutex<JobMasks>
  private let offers = Mutex<[String: URL]>([:])

  init(
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

  var log: any JobLog { trace }

  func mask(_ text: String) -> String { masks.withLock { $0.mask(text) } }

  func addMask(_ secret: String) async {
    masks.withLock { $0.add(secret, to: trace) }
  }

  func makeMasker() -> any StreamMasker { masks.withLock { $0.makeMasker() } }

  func dependencyFile(at path: String) async throws -> URL {
    try await dependencies.file(at: path)
  }

  func offerArtifact(named name: String, file: URL) async throws {
    let normalized = try ArtifactName.normalize(name)
    offers.withLock { $0[normalized] = file }
  }

  /// Files offered by commands, by their name in the artifacts.
  var offeredArtifacts: [String: URL] { offers.withLock { $0 } }

  var cancellation: JobCancellation? { control.cancellation }
}

/// Names under which commands offer artifacts: relative, without `..`.
enum ArtifactName {
  static func normalize(_ name: String) throws(ArtifactNameError) -> String {
    let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    guard !name.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
      throw ArtifactNameError(name: name)
    }
    return parts.joined(separator: "/")
  }
}

struct ArtifactNameError: JobFailure {
  let name: String
  var failureReason: FailureReason { .runnerSystemFailure }
  var description: String {
    "an artifact was offered as '\(name)', which is not a relative path inside the job's artifacts"
  }
}
