import Foundation
import Protocols
import Synchronization

/// The files commands offer as artifacts, by their name in the artifacts: the bookkeeping both
/// job contexts share. What becomes of them at the end of the job is an ``ArtifactDelivery``'s
/// business (uploaded to GitLab, copied to a folder).
package final class ArtifactOffers: Sendable {
  private let files = Mutex<[String: URL]>([:])

  package init() {}

  /// Records `file` under `name`, cleaned as archive entry names are (``ArchivePath/normalize(_:)``);
  /// a later offer under the same name replaces an earlier one.
  package func offer(named name: String, file: URL) throws(ArtifactNameError) {
    guard let normalized = ArchivePath.normalize(name), !normalized.isEmpty else {
      throw ArtifactNameError(name: name)
    }
    files.withLock { $0[normalized] = file }
  }

  /// The offered files, by their name in the artifacts.
  package var offered: [String: URL] { files.withLock { $0 } }
}

/// An artifact offered under a name that is not a relative path inside the artifacts.
package struct ArtifactNameError: JobFailure {
  package let name: String
  package var failureReason: FailureReason { .runnerSystemFailure }
  package var description: String {
    "an artifact was offered as '\(name)', which is not a relative path inside the job's artifacts"
  }
}
