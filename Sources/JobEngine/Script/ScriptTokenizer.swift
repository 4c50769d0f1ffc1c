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
        // A backslash before a line break joins the lines, as in a shell.
        if character.isNewline { continue }
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
        // The escaped character starts the word (a line break after it joins lines instead).
        escaping = column
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

  /// The commands of one script item, one per line. GitLab sends a YAML block scalar
  /// (`- |` followed by several lines) as one item, and its shells run each line as a command
  /// of its own; so does lava-runner, rather than reading the lines as one command with extra
  /// arguments. A line break inside quotes or after a backslash does not end a command.
  static func commandLines(_ item: String) -> [String] {
    var lines: [String] = []
    var current = ""
    var quote: Character?
    var escaping = false
    var inWord = false
    var inComment = false
    for character in item {
      if character.isNewline, quote == nil, !escaping {
        lines.append(current)
        current = ""
        inWord = false
        inComment = false
        continue
      }
      current.append(character)
      if inComment { continue }
      if escaping {
        escaping = false
        inWord = true
      } else if let open = quote {
        if character == open {
          quote = nil
        } else if character == "\\" && open == "\"" {
          escaping = true
        }
      } else {
        switch character {
        case "'", "\"":
          quote = character
          inWord = true
        case "\\":
          escaping = true
          inWord = true
        case " ", "\t":
          inWord = false
        case "#" where !inWord:
          // Quotes and backslashes in a comment are not syntax.
          inComment = true
        default:
          inWord = true
        }
      }
    }
    lines.append(current)
    return lines
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
