/// Why a YAML text could not be read, and where.
package struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
  package enum Reason: Sendable, Hashable {
    /// libyaml's own words: the problem, and the construct it was reading and where that started.
    case syntax(problem: String, context: String?, contextMark: YAMLMark?)
    case undefinedAlias(String)
    /// A character YAML does not allow in a stream, such as a control character.
    case encoding(String)
    /// A `<<` merge key whose value (described) is not a mapping or a list of mappings.
    case invalidMerge(String)
    /// The text has more than this many nodes, aliases counted as copies.
    case tooManyNodes(Int)
    /// Lists and mappings nested deeper than this many levels; the alias whose copy would, if any.
    case tooDeep(Int, alias: String?)
    /// The text is longer than the limit, in bytes.
    case tooLarge(bytes: Int, limit: Int)
    case parserUnavailable
  }

  package var file: String
  package var mark: YAMLMark
  package var reason: Reason
  package var sourceLine: String?

  package var message: String {
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
      return "\(problem): the file must be UTF-8 text; remove the character or write it as an escape "
        + "such as \\x01 in a double-quoted string"
    case .invalidMerge(let found):
      return "a '<<' merge key takes a mapping or a list of mappings (usually *an-alias), found \(found)"
    case .tooManyNodes(let limit):
      return "the text has more than \(limit) values, lists and mappings by here (each alias counted as a "
        + "copy of what it refers to); LAVA job definitions are far smaller: remove repeated or nested aliases "
        + "or split the file"
    case .tooDeep(let limit, nil):
      return "lists and mappings are nested more than \(limit) levels deep here; "
        + "LAVA job definitions need only a few levels"
    case .tooDeep(let limit, let alias?):
      return "alias *\(alias) here nests what &\(alias) holds more than \(limit) levels deep; "
        + "LAVA job definitions need only a few levels"
    case .tooLarge(let bytes, let limit):
      return
        "the text is \(bytes) bytes long, more than the \(limit / 1_048_576) MiB this runner reads as YAML; "
        + "LAVA job definitions are a few KiB"
    case .parserUnavailable:
      return "libyaml could not create a parser (out of memory?)"
    }
  }

  package var diagnostic: SourceDiagnostic {
    SourceDiagnostic(file: file, mark: mark, message: message, sourceLine: sourceLine)
  }

  package var description: String { diagnostic.description }

  private func hint(problem: String, context: String?) -> String? {
    if let sourceLine, sourceLine.prefix(mark.column).last == "\t" || sourceLine.hasPrefix("\t") {
      return "YAML does not allow tabs for indentation: indent with spaces"
    }
    if context?.contains("quoted scalar") == true && problem.contains("end of stream") {
      return "this quote is never closed"
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
