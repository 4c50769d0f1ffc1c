import Protocols

/// Splits one script line into words the way a POSIX shell would for simple commands: words
/// separated by blanks, `'single quotes'` taken literally, `"double quotes"` with `\"`, `\\`,
/// `\$` and `` \` `` escapes, a backslash outside quotes escaping the next character, and `#`
/// at the start of a word beginning a comment. Nothing is expanded: `$VAR` stays as written,
/// since commands read variables from the job context.
package enum ScriptTokenizer {
  package static func tokenize(_ line: String) throws(ScriptSyntaxError) -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: (character: Character, column: Int)?
    var escaping: Int? = nil
    var column = 0

    for character in line {
      column += 1
      if escaping != nil {
        escaping = nil
        if let open = quote, open.character == "\"" {
          // Inside double quotes a backslash escapes only these; before others it stays.
          if !"\"\\$`".contains(character) { word.append("\\") }
        }
        word.append(character)
        inWord = true
        continue
      }
      if let open = quote {
        if character == open.character {
          quote = nil
        } else if character == "\\" && open.character == "\"" {
          escaping = column
        } else {
          word.append(character)
        }
        continue
      }
      switch character {
      case " ", "\t", "\r", "\n":
        if inWord {
          words.append(word)
          word = ""
          inWord = false
        }
      case "'", "\"":
        quote = (character, column)
        inWord = true
      case "\\":
        escaping = column
        inWord = true
      case "#" where !inWord:
        return words
      default:
        word.append(character)
        inWord = true
      }
    }
    if let open = quote {
      throw .unbalancedQuote(open.character, column: open.column, line: line)
    }
    if let escapeColumn = escaping {
      throw .danglingBackslash(column: escapeColumn, line: line)
    }
    if inWord { words.append(word) }
    return words
  }
}

/// A script line that cannot be split into words.
package enum ScriptSyntaxError: Error, Equatable, CustomStringConvertible {
  case unbalancedQuote(Character, column: Int, line: String)
  case danglingBackslash(column: Int, line: String)

  package var column: Int {
    switch self {
    case .unbalancedQuote(_, let column, _), .danglingBackslash(let column, _): column
    }
  }

  package var description: String {
    switch self {
    case .unbalancedQuote(let quote, let column, let line):
      let name = quote == "'" ? "single" : "double"
      return "column \(column): unbalanced \(name) quote: the \(quote) opened here is never closed; "
        + "close it, or escape it with a backslash\n" + Self.pointer(line, column)
    case .danglingBackslash(let column, let line):
      return "column \(column): the line ends with a backslash that escapes nothing; "
        + "remove it, or quote it as '\\'\n" + Self.pointer(line, column)
    }
  }

  private static func pointer(_ line: String, _ column: Int) -> String {
    "  " + line + "\n  " + String(repeating: " ", count: max(0, column - 1)) + "^"
  }
}
