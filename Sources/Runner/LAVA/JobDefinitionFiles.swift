import Commands
import Foundation

/// Why a job definition file could not be read at all.
enum JobFileError: Error, Sendable, Hashable, CustomStringConvertible {
  case notFound(path: String)
  case isDirectory(path: String)
  case unreadable(path: String)
  case notUTF8(path: String)

  var description: String {
    switch self {
    case .notFound(let path):
      return "\(path): no such file; check the path (relative paths start at the current directory)"
    case .isDirectory(let path): return "\(path): is a directory, expected a LAVA job definition file"
    case .unreadable(let path): return "\(path): cannot be read; check its permissions"
    case .notUTF8(let path): return "\(path): is not UTF-8 text; save it as UTF-8"
    }
  }

  static func read(_ path: String) throws(JobFileError) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw .notFound(path: path)
    }
    if isDirectory.boolValue { throw .isDirectory(path: path) }
    guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
    guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8(path: path) }
    return text
  }
}

/// The verdict on each file of one `validate` call.
struct JobDefinitionReport: Sendable {
  enum Outcome: Sendable, Hashable {
    case valid(path: String)
    case invalid(path: String, [SourceDiagnostic])
    case unreadable(JobFileError)
  }

  var outcomes: [Outcome]

  var allValid: Bool {
    outcomes.allSatisfy { if case .valid = $0 { return true } else { return false } }
  }

  var diagnostics: [SourceDiagnostic] {
    outcomes.flatMap { outcome -> [SourceDiagnostic] in
      if case .invalid(_, let diagnostics) = outcome { return diagnostics }
      return []
    }
  }

  /// Checks each file in turn; one unreadable or invalid file does not stop the others.
  static func check(
    paths: [String], validator: JobDefinitionValidator = JobDefinitionValidator(),
    read: (String) throws(JobFileError) -> String = JobFileError.read
  ) -> JobDefinitionReport {
    var outcomes: [Outcome] = []
    for path in paths {
      do {
        let text = try read(path)
        let diagnostics =
          Self.templateDiagnostics(in: text, file: path) + validator.validate(text, file: path)
        outcomes.append(diagnostics.isEmpty ? .valid(path: path) : .invalid(path: path, diagnostics))
      } catch {
        outcomes.append(.unreadable(error))
      }
    }
    return JobDefinitionReport(outcomes: outcomes)
  }

  /// The template problems `submit` would refuse the file for, from the same check.
  static func templateDiagnostics(in text: String, file: String) -> [SourceDiagnostic] {
    TemplateCheck.problems(in: text).map { problem in
      SourceDiagnostic(
        file: file, mark: YAMLMark(line: problem.line, column: problem.column), message: problem.message,
        sourceLine: SourceText.line(problem.line, of: text))
    }
  }

  func rendered(colours: Bool) -> String {
    let style = TerminalStyle(enabled: colours)
    var lines: [String] = []
    for outcome in outcomes {
      switch outcome {
      case .valid(let path):
        lines.append(style.bold(path) + ": " + style.green("valid"))
      case .invalid(let path, let diagnostics):
        lines += diagnostics.map { $0.rendered(colours: colours) }
        let count = diagnostics.count
        lines.append(
          style.bold(path) + ": " + style.red("invalid (\(count) problem\(count == 1 ? "" : "s"))"))
      case .unreadable(let error):
        lines.append(style.red(error.description))
      }
    }
    return lines.joined(separator: "\n")
  }
}
