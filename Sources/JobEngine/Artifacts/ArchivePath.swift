import Foundation
import Protocols
import RunnerCore

/// Path rules shared by everything that names a file inside artifacts (archive entries, files
/// asked for from dependencies, offered artifacts, in a GitLab job and under `exec`): names are
/// relative, `/`-separated and never climb out of the directory they are extracted into.
package enum ArchivePath {
  /// Cleans an archive entry name or a requested path: drops `.`, empty components and a
  /// trailing `/`, resolves `..` lexically. Nil when the name is absolute or climbs above its
  /// root, which a safe archive never needs. The one path normaliser of the job engine: callers
  /// that need a file (not the root) also refuse the empty result.
  package static func normalize(_ name: String) -> String? {
    guard !name.hasPrefix("/") else { return nil }
    var components: [Substring] = []
    for component in name.split(separator: "/", omittingEmptySubsequences: true) {
      switch component {
      case ".":
        continue
      case "..":
        guard components.popLast() != nil else { return nil }
      default:
        components.append(component)
      }
    }
    return components.joined(separator: "/")
  }

  /// The canonical absolute path of `path`: symbolic links in its longest existing ancestor are
  /// resolved by the file system, the rest is appended as written.
  package static func resolved(_ path: String) -> String {
    var existing = path
    var rest: [String] = []
    while !existing.isEmpty && existing != "/" {
      if let real = realPath(existing) {
        return ([real] + rest.reversed()).joined(separator: "/")
      }
      let url = URL(fileURLWithPath: existing)
      rest.append(url.lastPathComponent)
      existing = url.deletingLastPathComponent().path
    }
    return "/" + rest.reversed().joined(separator: "/")
  }

  /// Whether `path` is `root` or lies under it (both canonical).
  package static func isContained(_ path: String, in root: String) -> Bool {
    let base = root.hasSuffix("/") ? root : root + "/"
    return path == root || path.hasPrefix(base)
  }

  private static func realPath(_ path: String) -> String? {
    guard let pointer = realpath(path, nil) else { return nil }
    defer { free(pointer) }
    return String(cString: pointer)
  }
}
