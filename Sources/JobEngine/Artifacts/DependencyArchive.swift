import Foundation
import Protocols
import RunnerCore
import ZIPFoundation

/// A downloaded artifacts zip of a dependency job, opened to list its entries and extract the
/// ones a command needs.
///
/// Extraction never writes outside the target directory: entries with absolute names or `..`
/// climbing out, symbolic links pointing outside, and existing symbolic links on the way that
/// lead outside are refused with an error naming the entry.
package struct DependencyArchive {
  package struct Entry: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
      case file, directory, symbolicLink
    }

    /// The entry's name as stored in the zip.
    package let name: String
    /// The normalized relative path (see `ArchivePath.normalize`), nil for an unsafe name.
    package let path: String?
    package let kind: Kind
    package let uncompressedSize: UInt64
  }

  package let url: URL
  private let archive: Archive

  package init(opening url: URL) throws(ArtifactArchiveError) {
    self.url = url
    do {
      archive = try Archive(url: url, accessMode: .read)
    } catch {
      throw .cannotOpen(archive: url.path, reason: "\(error)")
    }
  }

  /// Every entry, in archive order.
  package var entries: [Entry] {
    archive.map(Self.describe)
  }

  /// The first entry whose normalized path is `path` (`./x`, `x` and `x/` are the same).
  package func entry(at path: String) -> Entry? {
    guard let wanted = ArchivePath.normalize(path) else { return nil }
    return entries.first { $0.path == wanted }
  }

  /// Extracts the entry at `path` into `directory` (created if missing), replacing what is
  /// there, and returns where it was written.
  @discardableResult
  package func extract(_ path: String, into directory: URL) throws(ArtifactArchiveError) -> URL {
    guard let wanted = ArchivePath.normalize(path) else { throw .unsafeEntryName(entry: path) }
    guard !wanted.isEmpty, let (raw, relative) = findRawEntry(wanted) else {
      throw .entryNotFound(path: path, archive: url.path)
    }
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw .extractionFailed(entry: raw.path, reason: "cannot create \(directory.path): \(error)")
    }
    let root = ArchivePath.resolved(directory.path)
    let destination = root + "/" + relative
    let parent = URL(fileURLWithPath: destination).deletingLastPathComponent().path
    // An existing symbolic link among the parents could lead outside: check before creating.
    guard ArchivePath.isContained(ArchivePath.resolved(parent), in: root) else {
      throw .destinationEscapes(entry: raw.path)
    }
    do {
      try FileManager.default.createDirectory(
        atPath: parent, withIntermediateDirectories: true)
      try removeExistingItem(at: destination, unlessDirectoryFor: raw.type)
      switch raw.type {
      case .file, .directory:
        _ = try archive.extract(raw, to: URL(fileURLWithPath: destination))
      case .symlink:
        try extractSymbolicLink(raw, to: destination, root: root)
      }
    } catch let error as ArtifactArchiveError {
      throw error
    } catch {
      throw .extractionFailed(entry: raw.path, reason: "\(error)")
    }
    return URL(fileURLWithPath: destination)
  }

  private func findRawEntry(_ wanted: String) -> (ZIPFoundation.Entry, String)? {
    for raw in archive {
      if let path = ArchivePath.normalize(raw.path), path == wanted { return (raw, path) }
    }
    return nil
  }

  private func extractSymbolicLink(_ raw: ZIPFoundation.Entry, to destination: String, root: String)
    throws
  {
    var data = Data()
    _ = try archive.extract(raw) { data.append($0) }
    guard let target = String(data: data, encoding: .utf8), !target.isEmpty else {
      throw ArtifactArchiveError.extractionFailed(
        entry: raw.path, reason: "its link target is empty or not UTF-8")
    }
    let base = URL(fileURLWithPath: destination).deletingLastPathComponent().path
    let lexical = URL(fileURLWithPath: target.hasPrefix("/") ? target : base + "/" + target)
      .standardized.path
    guard ArchivePath.isContained(ArchivePath.resolved(lexical), in: root) else {
      throw ArtifactArchiveError.symlinkEscapes(entry: raw.path, target: target)
    }
    try FileManager.default.createSymbolicLink(atPath: destination, withDestinationPath: target)
  }

  private func removeExistingItem(at path: String, unlessDirectoryFor type: ZIPFoundation.Entry.EntryType)
    throws
  {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
    let isDirectory = (attributes[.type] as? FileAttributeType) == .typeDirectory
    if isDirectory && type == .directory { return }
    try FileManager.default.removeItem(atPath: path)
  }

  private static func describe(_ raw: ZIPFoundation.Entry) -> Entry {
    let kind: Entry.Kind
    switch raw.type {
    case .file: kind = .file
    case .directory: kind = .directory
    case .symlink: kind = .symbolicLink
    }
    let path = ArchivePath.normalize(raw.path).flatMap { $0.isEmpty ? nil : $0 }
    return Entry(name: raw.path, path: path, kind: kind, uncompressedSize: raw.uncompressedSize)
  }
}
