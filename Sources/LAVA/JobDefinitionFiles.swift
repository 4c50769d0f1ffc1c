import Foundation
import HTTP
import Protocols
import RunnerCore
import YAML

/// Why a job definition file could not be read at all.
package enum JobFileError: Error, Sendable, Hashable, CustomStringConvertible {
  case notFound(path: String)
  case isDirectory(path: String)
  case unreadable(path: String)
  case notUTF8(path: String)
  case tooLarge(path: String, limit: Int)

  package var description: String {
    switch self {
    case .notFound(let path):
      return "\(path): no such file; check the path (relative paths start at the current directory)"
    case .isDirectory(let path): return "\(path): is a directory, expected a LAVA job definition file"
    case .unreadable(let path): return "\(path): cannot be read; check its permissions"
    case .notUTF8(let path): return "\(path): is not UTF-8 text; save it as UTF-8"
    case .tooLarge(let path, let limit):
      return "\(path): is larger than \(limit / 1_048_576) MiB, the most a job definition may be; "
        + "LAVA job definitions are a few KiB: check that this is the right file"
    }
  }

  /// The text of `path`; a file past `limit` bytes is refused before it is read.
  package static func read(_ path: String) throws(JobFileError) -> String {
    try read(path, limit: YAMLLimits.standard.maximumBytes)
  }

  package static func read(_ path: String, limit: Int) throws(JobFileError) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw .notFound(path: path)
    }
    if isDirectory.boolValue { throw .isDirectory(path: path) }
    guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path: path) }
    defer { try? handle.close() }
    // One byte past the limit tells a file that is too large, even one whose size the file system
    // does not know in advance (a pipe or /dev/zero).
    let data: Data
    do {
      // Nil at the end of the file: an empty file.
      data = try handle.read(upToCount: limit + 1) ?? Data()
    } catch {
      throw .unreadable(path: path)
    }
    if data.count > limit { throw .tooLarge(path: path, limit: limit) }
    guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8(path: path) }
    return text
  }
}

/// The verdict on each file of one `validate` call.
package struct JobDefinitionReport: Sendable {
  package enum Outcome: Sendable, Hashable {
    case valid(path: String)
    /// The first problems in source order, and how many more there are.
    case invalid(path: String, [SourceDiagnostic], omitted: Int)
    case unreadable(JobFileError)
  }

  package var outcomes: [Outcome]

  package var allValid: Bool {
    outcomes.allSatisfy { if case .valid = $0 { return true } else { return false } }
  }

  package var diagnostics: [SourceDiagnostic] {
    outcomes.flatMap { outcome -> [SourceDiagnostic] in
      if case .invalid(_, let diagnostics, _) = outcome { return diagnostics }
      return []
    }
  }

  /// Checks each file in turn; one unreadable or invalid file does not stop the others.
  /// `templateDiagnostics` adds the problems of the file as a template (text, path → problems),
  /// which the checks of the layer that knows templates find: `submit` refuses them too.
  package static func check(
    paths: [String], validator: JobDefinitionValidator = JobDefinitionValidator(),
    read: (String) throws(JobFileError) -> String = JobFileError.read,
    templateDiagnostics: (String, String) -> [SourceDiagnostic] = { _, _ in [] }
  ) -> JobDefinitionReport {
    var outcomes: [Outcome] = []
    for path in paths {
      do {
        let text = try read(path)
        let template = templateDiagnostics(text, path)
        let findings = validator.findings(in: text, file: path)
        let diagnostics = (template + findings.diagnostics).sorted {
          ($0.mark.line, $0.mark.column) < ($1.mark.line, $1.mark.column)
        }
        let total = template.count + findings.total
        outcomes.append(
          total == 0
            ? .valid(path: path) : .invalid(path: path, diagnostics, omitted: findings.omitted))
      } catch {
        outcomes.append(.unreadable(error))
      }
    }
    return JobDefinitionReport(outcomes: outcomes)
  }

  package func rendered(colours: Bool) -> String {
    let style = TerminalStyle(enabled: colours)
    var lines: [String] = []
    for outcome in outcomes {
      switch outcome {
      case .valid(let path):
        lines.append(style.bold(VisibleText.escaping(path)) + ": " + style.green("valid"))
      case .invalid(let path, let diagnostics, let omitted):
        lines += diagnostics.map { $0.rendered(colours: colours) }
        if omitted > 0 {
          lines.append(
            style.bold(VisibleText.escaping(path)) + ": " + JobDefinitionFindings.omission(omitted))
        }
        let count = diagnostics.count + omitted
        lines.append(
          style.bold(VisibleText.escaping(path)) + ": "
            + style.red("invalid (\(count) problem\(count == 1 ? "" : "s"))"))
      case .unreadable(let error):
        lines.append(style.red(VisibleText.escaping(error.description)))
      }
    }
    return lines.joined(separator: "\n")
  }
}
