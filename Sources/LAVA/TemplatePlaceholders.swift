import Protocols
import RunnerCore
import YAML

/// `{{ … }}` placeholders (GitLab CI variables filled in just before submission) hidden from the
/// YAML parser: each becomes a plain scalar of the same length, so every line and column stays true.
package struct TemplatePlaceholders: Sendable {
  package struct Span: Sendable, Hashable {
    package var line: Int
    package var column: Int
    package var length: Int
  }

  package let maskedText: String
  package let spans: [Span]

  package init(_ text: String) {
    var masked = ""
    masked.reserveCapacity(text.utf8.count)
    var spans: [Span] = []
    var line = 1
    var column = 1
    var rest = Substring(text)
    while let open = rest.firstRange(of: "{{") {
      let before = rest[..<open.lowerBound]
      masked += before
      for character in before {
        if character.isNewline {
          line += 1
          column = 1
        } else {
          column += 1
        }
      }
      let afterOpen = rest[open.upperBound...]
      let lineEnd = afterOpen.firstIndex(where: \.isNewline) ?? afterOpen.endIndex
      guard let close = afterOpen[..<lineEnd].firstRange(of: "}}") else {
        // An unclosed `{{` is left for the parser to judge.
        masked += "{{"
        column += 2
        rest = afterOpen
        continue
      }
      let length = rest.distance(from: open.lowerBound, to: close.upperBound)
      masked += Self.filler(length: length)
      spans.append(Span(line: line, column: column, length: length))
      column += length
      rest = rest[close.upperBound...]
    }
    masked += rest
    self.maskedText = masked
    self.spans = spans
  }

  package var isEmpty: Bool { spans.isEmpty }

  /// Whether `node` is a scalar made of one placeholder and nothing else, such as
  /// `minutes: {{ job.TIMEOUT }}` or `device_type: "{{ job.DEVICE_TYPE }}"`.
  package func isPlaceholder(_ node: YAMLNode) -> Bool {
    guard let scalar = node.scalar, !spans.isEmpty else { return false }
    let column = node.mark.column + (scalar.style.isQuoted ? 1 : 0)
    return spans.contains {
      $0.line == node.mark.line && $0.column == column && $0.length == scalar.value.count
    }
  }

  /// Letters only, so the filler is a plain string scalar wherever the placeholder stood.
  private static func filler(length: Int) -> String {
    String(repeating: "x", count: length)
  }
}
