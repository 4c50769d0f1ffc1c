import Protocols
import RunnerCore

/// What can go wrong reading a dependency's artifacts zip or writing the job's own.
package enum ArtifactArchiveError: Error, Equatable, CustomStringConvertible {
  case cannotOpen(archive: String, reason: String)
  case entryNotFound(path: String, archive: String)
  case unsafeEntryName(entry: String)
  case symlinkEscapes(entry: String, target: String)
  case destinationEscapes(entry: String)
  case extractionFailed(entry: String, reason: String)
  case cannotCreate(archive: String, reason: String)
  case cannotAdd(name: String, file: String, reason: String)

  package var description: String {
    switch self {
    case .cannotOpen(let archive, let reason):
      return "cannot open artifacts archive \(archive) as a zip: \(reason); the download may be "
        + "truncated or not a zip (check the dependency job's artifacts in GitLab)"
    case .entryNotFound(let path, let archive):
      return "'\(path)' is not in artifacts archive \(archive); check the path against the "
        + "dependency job's artifacts:paths"
    case .unsafeEntryName(let entry):
      return "artifact entry name '\(entry)' is absolute or climbs out with '..'; archive "
        + "entries must be relative paths inside the archive"
    case .symlinkEscapes(let entry, let target):
      return "artifact entry '\(entry)' is a symbolic link to '\(target)', outside the "
        + "extraction directory; it was not extracted"
    case .destinationEscapes(let entry):
      return "artifact entry '\(entry)' would be written through a symbolic link leading "
        + "outside the extraction directory; it was not extracted"
    case .extractionFailed(let entry, let reason):
      return "cannot extract artifact entry '\(entry)': \(reason)"
    case .cannotCreate(let archive, let reason):
      return "cannot create artifacts archive \(archive): \(reason); check that its directory "
        + "exists and is writable, and the free disk space"
    case .cannotAdd(let name, let file, let reason):
      return "cannot add \(file) to the artifacts archive as '\(name)': \(reason)"
    }
  }
}
