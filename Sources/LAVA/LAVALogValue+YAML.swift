import HTTP
import Protocols
import RunnerCore
import YAML

extension LAVALogValue {
  /// The item of a log line `- <value>` read as YAML, or nil when the line is not exactly one
  /// sequence item. Scalars resolve as PyYAML (which wrote them) resolves them, so a tagged
  /// `! "558"` is the string 558. The parser's limits bound the line's size and depth (a line
  /// past them is nil, shown raw), so building the value recurses at most that deep.
  package static func yamlSequenceItem(_ line: String) -> LAVALogValue? {
    guard let root = try? YAMLParser.parse(line, file: "log line"), let items = root.items, items.count == 1
    else { return nil }
    return LAVALogValue(items[0])
  }

  package init(_ node: YAMLNode) {
    switch node.content {
    case .scalar(let scalar):
      switch node.resolved {
      case .null?: self = .null
      case .string(let text)?: self = .scalar(text, quoted: true)
      default: self = .scalar(scalar.value, quoted: false)
      }
    case .sequence(let items):
      self = .list(items.map(LAVALogValue.init))
    case .mapping(let pairs):
      var fields: [String: LAVALogValue] = [:]
      for pair in pairs {
        let key = pair.key.scalar?.value ?? LAVALogValue(pair.key).compactText
        fields[key] = LAVALogValue(pair.value)
      }
      self = .map(fields)
    }
  }
}
