/// A problem at a place in a text file, shown the way compilers show them:
/// `file:line:column: message`, the source line, and a caret under the column.
package struct SourceDiagnostic: Sendable, Hashable, CustomStringConvertible {
  package var file: String
  package var mark: YAMLMark
  package var message: String
  /// The offending line as written in the file (without its line break), when known.
  package var sourceLine: String?

  package var description: String { rendered(colours: false) }

  package func rendered(colours: Bool) -> String {
    let style = TerminalStyle(enabled: colours)
    var text = style.bold("\(file):\(mark.line):\(mark.column):") + " " + style.red(message)
    if let sourceLine, !sourceLine.isEmpty {
      text += "\n    " + sourceLine + "\n    " + caretPadding(sourceLine) + style.green("^")
    }
    return text
  }

  /// Tabs stay tabs so the caret lines up whatever the terminal's tab width.
  private func caretPadding(_ line: String) -> String {
    String(line.prefix(max(0, mark.column - 1)).map { $0 == "\t" ? "\t" : " " })
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
}
