import Foundation
import Protocols

/// Decides which files of the job's directory go into an artifact, as the official runner's
/// archiver does with the job's `artifacts.paths` and `artifacts.exclude`:
/// - a path is included when it, or any directory above it, matches a `paths` pattern (a
///   pattern naming a directory takes everything under it);
/// - a path is left out when it matches an `exclude` pattern itself. Exclusion is not
///   recursive: excluding `build` drops the entry `build`, not `build/a.o`; GitLab documents
///   `build/**/*` (or `build/**`) for that;
/// - exclusion wins over inclusion.
/// Patterns and paths are relative to the job directory; `./`, doubled and trailing slashes
/// and `..` are cleaned away first, as the official runner does before matching. Patterns that
/// leave the job directory are refused.
package struct ArtifactPathMatcher: Sendable {
  package let paths: [GlobPattern]
  package let exclude: [GlobPattern]

  package init(paths: [String], exclude: [String] = []) throws(ArtifactPatternError) {
    self.paths = try paths.map { pattern throws(ArtifactPatternError) in
      try Self.compile(pattern, role: "paths")
    }
    self.exclude = try exclude.map { pattern throws(ArtifactPatternError) in
      try Self.compile(pattern, role: "exclude")
    }
  }

  /// Whether the file or directory at `relativePath` belongs in the artifact.
  package func matches(_ relativePath: String) -> Bool {
    guard let path = ArchivePath.normalize(relativePath), !path.isEmpty else { return false }
    if exclude.contains(where: { $0.matches(path) }) { return false }
    var ancestorOrSelf = Substring(path)
    while true {
      if paths.contains(where: { $0.matches(String(ancestorOrSelf)) }) { return true }
      guard let slash = ancestorOrSelf.lastIndex(of: "/") else { return false }
      ancestorOrSelf = ancestorOrSelf[..<slash]
    }
  }

  /// The candidates that belong in the artifact, in their original order.
  package func select(from candidates: [String]) -> [String] {
    candidates.filter(matches)
  }

  private static func compile(_ pattern: String, role: String) throws(ArtifactPatternError)
    -> GlobPattern
  {
    guard !pattern.hasPrefix("/") else { throw .absolute(pattern: pattern, role: role) }
    guard let cleaned = ArchivePath.normalize(pattern) else {
      throw .outsideJobDirectory(pattern: pattern, role: role)
    }
    do {
      // `.` names the job directory itself, whose walk takes every file in it.
      return try GlobPattern(cleaned.isEmpty ? "**" : cleaned)
    } catch {
      throw .invalid(pattern: pattern, role: role, reason: error)
    }
  }
}

package enum ArtifactPatternError: Error, Equatable, CustomStringConvertible {
  case absolute(pattern: String, role: String)
  case outsideJobDirectory(pattern: String, role: String)
  case invalid(pattern: String, role: String, reason: GlobPatternError)

  package var description: String {
    switch self {
    case .absolute(let pattern, let role):
      return "artifacts:\(role) entry '\(pattern)' is an absolute path; artifact paths are "
        + "relative to the job directory, write it without the leading '/'"
    case .outsideJobDirectory(let pattern, let role):
      return "artifacts:\(role) entry '\(pattern)' leaves the job directory through '..'; "
        + "only files inside the job directory can be artifacts"
    case .invalid(_, let role, let reason):
      return "artifacts:\(role): \(reason)"
    }
  }
}
