/// Why a YAML text could not be read, and where.
struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
  enum Reason: Sendable, Hashable {
    /// libyaml's own words: the problem, and the construct it was reading and where that started.
    case syntax(problem: String, context: String?, contextMark: YAMLMark?)
    case undefinedAlias(String)
    /// The bytes are not valid UTF-8 or UTF-16.
    case encoding(String)
    case parserUnavailable
  }

  var file: String
  var mark: YAMLMark
  var reason: Reason
  var sourceLine: String?

  var message: String {
    switch reason {
    case .syntax(let problem, let context, let contextMark):
      var text = problem
      if let context {
        text += " " + context
        if let contextMark, contextMark != mark {
          text += " that starts at line \(contextMark.line), column \(contextMark.column)"
        }
      }
      if let hint = hint(problem: problem, context: context) { text += " (\(hint))" }
      return text
    case .undefinedAlias(let name):
      return "alias *\(name) refers to no anchor &\(name) defined before it; define the anchor first"
    case .encoding(let problem):
      return "\(problem); save the file as UTF-8"
    case .parserUnavailable:
      return "libyaml could not create a parser (out of memory?)"
    }
  }

  var diagnostic: SourceDiagnostic {
    SourceDiagnostic(file: file, mark: mark, message: message, sourceLine: sourceLine)
  }

  var description: String { diagnostic.description }

  private func hint(problem: String, context: String?) -> String? {
    if let sourceLine, sourceLine.prefix(mark.column).last == "\t" || sourceLine.hasPrefix("\t") {
      return "YAML does not allow tabs for indentation: indent with spaces"
    }
    if context?.contains("quoted scalar") == true && problem.contains("end of stream") {
      return "close the quote"
    }
    if problem.contains("mapping values are not allowed") {
      return "quote a value that contains ': ', or align this key with its siblings"
    }
    if problem.contains("did not find expected") {
      return "check this line's indentation against the lines above it"
    }
    return nil
  }
}
