/// A problem at a place in a text file, shown the way compilers show them:
/// `file:line:column: message`, the source line, and a caret under the column.
package struct SourceDiagnostic: Sendable, Hashable, CustomStringConvertible {
  package var file: String
  package var mark: YAMLMark
  package var message: String
  /// The offending line as written in the file (without its line break), when known.
  package var sourceLine: String?

  package var description: String { rendered(colours: false) }

  /// Control characters of the file (escape sequences, BEL, bidirectional overrides) are shown as
  /// escapes such as `\x1B`, never sent to the terminal as they are.
  package func rendered(colours: Bool) -> String {
    let style = TerminalStyle(enabled: colours)
    var text =
      style.bold("\(VisibleText.escaping(file)):\(mark.line):\(mark.column):") + " "
      + style.red(VisibleText.escaping(message))
    if let sourceLine, !sourceLine.isEmpty {
      let (shown, column) = excerpt(of: sourceLine)
      text +=
        "\n    " + VisibleText.escaping(shown) + "\n    " + caretPadding(shown, column: column)
        + style.green("^")
    }
    return text
  }

  /// Characters shown either side of the column when a line is too long to show whole.
  package static let excerptRadius = 100

  /// The part of `line` shown, and the column in it: the whole line when it is short, else up to
  /// ``excerptRadius`` characters either side of the column with `…` where it is cut (a
  /// generated or hostile file may hold megabytes on one line).
  private func excerpt(of line: String) -> (text: String, column: Int) {
    let column = max(1, mark.column)
    let startOffset = max(0, column - 1 - Self.excerptRadius)
    let start = line.index(line.startIndex, offsetBy: startOffset, limitedBy: line.endIndex) ?? line.endIndex
    let end = line.index(start, offsetBy: 2 * Self.excerptRadius, limitedBy: line.endIndex) ?? line.endIndex
    if start == line.startIndex && end == line.endIndex { return (line, column) }
    var text = String(line[start..<end])
    var shownColumn = column - startOffset
    if start != line.startIndex {
      text = "…" + text
      shownColumn += 1
    }
    if end != line.endIndex { text += "…" }
    return (text, shownColumn)
  }

  /// Tabs stay tabs so the caret lines up whatever the terminal's tab width; an escaped
  /// character takes as many spaces as its escape.
  private func caretPadding(_ line: String, column: Int) -> String {
    var padding = ""
    for character in line.prefix(max(0, column - 1)) {
      if character == "\t" {
        padding += "\t"
      } else {
        padding += String(repeating: " ", count: VisibleText.escape(character)?.count ?? 1)
      }
    }
    return padding
  }

  package init(file: String, mark: YAMLMark, message: String, sourceLine: String? = nil) {
    self.file = file
    self.mark = mark
    self.message = message
    self.sourceLine = sourceLine
  }
}

/// ANSI styling that turns itself off when the output is not a terminal.
package struct TerminalStyle: Sendable {
  package var enabled: Bool

  package func bold(_ text: String) -> String { wrap(text, "1") }
  package func red(_ text: String) -> String { wrap(text, "31") }
  package func green(_ text: String) -> String { wrap(text, "32") }

  private func wrap(_ text: String, _ code: String) -> String {
    enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
  }

  package init(enabled: Bool) {
    self.enabled = enabled
  }
}

/// Text from a file or a server made safe to print on a terminal.
package enum VisibleText {
  /// `text` with every control character but tab, and every bidirectional formatting character,
  /// written as an escape (`\x07`, `\x1B`, `\u202E`), as YAML would write them in a
  /// double-quoted string.
  package static func escaping(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
      if let escaped = escape(character) {
        result += escaped
      } else {
        result.append(character)
      }
    }
    return result
  }

  /// The escape that shows `character`, or nil when it is shown as it is.
  package static func escape(_ character: Character) -> String? {
    guard character.unicodeScalars.contains(where: needsEscape) else { return nil }
    return character.unicodeScalars.map { scalar in
      guard needsEscape(scalar) else { return String(scalar) }
      let hex = String(scalar.value, radix: 16, uppercase: true)
      return scalar.value <= 0xFF
        ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
        : "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }.joined()
  }

  private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09: false
    case 0x00...0x1F, 0x7F...0x9F: true
    // Bidirectional marks, embeddings, overrides and isolates: they reorder what follows.
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
  }
}

package enum SourceText {
  /// Line `number` (1-based) of `text`, without its line break; nil past the end.
  package static func line(_ number: Int, of text: String) -> String? {
    guard number >= 1 else { return nil }
    var current = 1
    // The same line breaks as libyaml counts: \n, \r, \r\n, NEL, LS and PS.
    for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
      if current == number { return String(line) }
      current += 1
    }
    return nil
  }

  /// Lines `numbers` (1-based) of `text` in one pass, for many diagnostics of one text.
  package static func lines(_ numbers: Set<Int>, of text: String) -> [Int: String] {
    guard let last = numbers.max() else { return [:] }
    var found: [Int: String] = [:]
    var current = 1
    for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
      if numbers.contains(current) { found[current] = String(line) }
      if current == last { break }
      current += 1
    }
    return found
  }
}
