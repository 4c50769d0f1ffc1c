import Foundation
import Protocols
import ZIPFoundation

/// Writes the `zip` artifact of a job: each file is deflated into the archive in slices read
/// from disk, so artifacts larger than memory can be uploaded.
package enum UploadArchiveWriter {
  package struct Item: Sendable, Equatable {
    /// The path inside the archive: relative, `/`-separated.
    package let name: String
    package let file: URL

    package init(name: String, file: URL) {
      self.name = name
      self.file = file
    }
  }

  /// Creates `destination` (replacing it) holding `items` in order. Directories become
  /// directory entries and symbolic links stay links, as in the official runner's archive.
  package static func write(_ items: [Item], to destination: URL) throws(ArtifactArchiveError) {
    var names: [String] = []
    for item in items {
      guard let name = ArchivePath.normalize(item.name), !name.isEmpty else {
        throw .unsafeEntryName(entry: item.name)
      }
      names.append(name)
    }
    let archive: Archive
    do {
      if FileManager.default.fileExists(atPath: destination.path) {
        try FileManager.default.removeItem(at: destination)
      }
      archive = try Archive(url: destination, accessMode: .create)
    } catch {
      throw .cannotCreate(archive: destination.path, reason: "\(error)")
    }
    for (item, name) in zip(items, names) {
      do {
        try archive.addEntry(with: name, fileURL: item.file, compressionMethod: .deflate)
      } catch {
        throw .cannotAdd(name: name, file: item.file.path, reason: "\(error)")
      }
    }
  }
}
