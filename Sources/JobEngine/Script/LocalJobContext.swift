import Foundation
import GitLabAPI
import HTTP
import Protocols
import RunnerCore
import Synchronization

/// The job context of `lava-runner exec`: a job without GitLab. Dependency files come from a
/// local folder (the current directory), offered artifacts are copied to a folder when the
/// command ends (``LocalArtifactFolder``), and cancellation comes from a ``JobControl`` the
/// caller drives (Ctrl-C).
///
/// It lives next to the interpreter rather than in CLI/ because it is a second implementation
/// of what the interpreter runs against, testable without a process; only the wiring to
/// signals and stdout is CLI.
package final class LocalJobContext: JobContext {
  package let log: any JobLog
  private let maskingLog: any MaskingJobLog
  package let variables: JobVariables
  /// The job's private folder (LAVA logs are written here before they are copied out).
  package let workingDirectory: URL
  /// Where dependency files are looked up.
  package let sourceDirectory: URL
  package let lava: any LAVAConnector
  package let control: JobControl
  private let masks: Mutex<JobMasks>
  /// Files offered by the command, by their name in the artifacts.
  package let offers = ArtifactOffers()

  package init(
    log: any MaskingJobLog, variables: JobVariables, sourceDirectory: URL, workingDirectory: URL,
    lava: any LAVAConnector, control: JobControl
  ) {
    self.log = log
    self.maskingLog = log
    self.variables = variables
    self.sourceDirectory = sourceDirectory
    self.workingDirectory = workingDirectory
    self.lava = lava
    self.control = control
    self.masks = Mutex(JobMasks(SecretMasker(secrets: variables.secretValues)))
  }

  package func mask(_ text: String) -> String { masks.withLock { $0.mask(text) } }

  package func addMask(_ secret: String) async {
    masks.withLock { $0.add(secret, to: maskingLog) }
  }

  package func makeMasker() -> any StreamMasker { masks.withLock { $0.makeMasker() } }

  /// `path` relative to the source folder, cleaned as names inside artifacts are; absolute paths
  /// and paths that climb out of the folder are refused as the runner refuses them.
  package func dependencyFile(at path: String) async throws -> URL {
    guard let relative = ArchivePath.normalize(path), !relative.isEmpty else {
      throw DependencyFileError.badPath(path)
    }
    let url = sourceDirectory.appendingPathComponent(relative)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
    else {
      throw LocalFileError.notFound(path: relative, directory: sourceDirectory.path)
    }
    return url
  }

  package func offerArtifact(named name: String, file: URL) async throws {
    try offers.offer(named: name, file: file)
  }

  package var cancellation: JobCancellation? { control.cancellation }
}

/// The artifacts of `lava-runner exec`: copied into a folder and listed in the log.
package struct LocalArtifactFolder: ArtifactDelivery {
  package let offers: ArtifactOffers
  package let directory: URL

  package init(offers: ArtifactOffers, directory: URL) {
    self.offers = offers
    self.directory = directory
  }

  package func deliver(after outcome: JobOutcome, log: any JobLog) async throws {
    let copied = try copy()
    guard !copied.isEmpty else { return }
    await log.line("Artifacts in \(directory.path):", color: .cyan)
    for name in copied { await log.line("  " + name) }
  }

  /// Copies every offered file that exists into the folder under its name, replacing older
  /// copies; returns the names copied, sorted.
  package func copy() throws(LocalArtifactError) -> [String] {
    let manager = FileManager.default
    var copied: [String] = []
    for (name, file) in offers.offered.sorted(by: { $0.key < $1.key })
    where manager.fileExists(atPath: file.path) {
      let target = directory.appendingPathComponent(name)
      do {
        try manager.createDirectory(
          at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
        try manager.copyItem(at: file, to: target)
      } catch {
        throw LocalArtifactError(name: name, directory: directory.path, reason: error.localizedDescription)
      }
      copied.append(name)
    }
    return copied
  }
}

/// A file asked for by the command that is not in the local folder.
package enum LocalFileError: JobFailure, Equatable {
  case notFound(path: String, directory: String)

  package var failureReason: FailureReason { .scriptFailure }

  package var description: String {
    switch self {
    case .notFound(let path, let directory):
      "\(path) is not in \(directory); exec looks files up relative to the current directory, "
        + "where the job would find them in its dependencies' artifacts"
    }
  }
}

/// An offered artifact that could not be copied to the artifacts folder.
package struct LocalArtifactError: JobFailure, Equatable {
  package let name: String
  package let directory: String
  package let reason: String

  package var failureReason: FailureReason { .runnerSystemFailure }

  package var description: String {
    "cannot copy the artifact \(name) to \(directory): \(reason); check that the folder is writable "
      + "or choose another with --artifacts-dir"
  }
}
