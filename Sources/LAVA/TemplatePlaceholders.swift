import HTTP
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
  private let lookup: Set<Span>

  /// One pass over the text: each character is looked at no more than twice, however many `{{`
  /// a line holds (a hostile file may hold millions).
  package init(_ text: String) {
    var masked = ""
    masked.reserveCapacity(text.utf8.count)
    var spans: [Span] = []
    var line = 1
    var column = 1
    var index = text.startIndex
    var copied = text.startIndex
    while index < text.endIndex {
      let character = text[index]
      let next = text.index(after: index)
      if character.isNewline {
        line += 1
        column = 1
        index = next
        continue
      }
      guard character == "{", next < text.endIndex, text[next] == "{" else {
        column += 1
        index = next
        continue
      }
      // The placeholder closes on the same line, or it is not one.
      var end = text.index(after: next)
      var close: String.Index?
      while end < text.endIndex, !text[end].isNewline {
        let after = text.index(after: end)
        if text[end] == "}", after < text.endIndex, text[after] == "}" {
          close = text.index(after: after)
          break
        }
        end = after
      }
      guard let close else {
        // An unclosed `{{` is left for the parser to judge; no later `{{` on this line can close
        // either, since no `}}` follows on it.
        column += text.distance(from: index, to: end)
        index = end
        continue
      }
      let length = text.distance(from: index, to: close)
      masked += text[copied..<index]
      masked += Self.filler(length: length)
      spans.append(Span(line: line, column: column, length: length))
      column += length
      index = close
      copied = close
    }
    masked += text[copied...]
    self.maskedText = masked
    self.spans = spans
    self.lookup = Set(spans)
  }

  package var isEmpty: Bool { spans.isEmpty }

  /// Whether `node` is a scalar made of one placeholder and nothing else, such as
  /// `minutes: {{ job.TIMEOUT }}` or `device_type: "{{ job.DEVICE_TYPE }}"`.
  package func isPlaceholder(_ node: YAMLNode) -> Bool {
    guard let scalar = node.scalar, !spans.isEmpty else { return false }
    let column = node.mark.column + (scalar.style.isQuoted ? 1 : 0)
    return lookup.contains(Span(line: node.mark.line, column: column, length: scalar.value.count))
  }

  /// Letters only, so the filler is a plain string scalar wherever the placeholder stood.
  private static func filler(length: Int) -> String {
    String(repeating: "x", count: length)
  }
}
