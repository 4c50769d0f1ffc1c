import Protocols
import YAML

extension LAVAConnections {
  package func yamlTree(of text: String, name: String) async throws(YAMLTreeError) -> YAMLTree? {
    try Self.yamlTree(of: text, name: name)
  }

  /// The YAML reader's tree as commands see it (``YAMLTree``): positions kept, tags and anchors
  /// dropped, merges already applied. Small files only: ``yamlTreeLimits``.
  package static func yamlTree(of text: String, name: String) throws(YAMLTreeError) -> YAMLTree? {
    do {
      return try YAMLParser.parse(text, file: name, limits: yamlTreeLimits).map(tree)
    } catch {
      let diagnostic = error.diagnostic
      throw YAMLTreeError(
        file: name, line: diagnostic.mark.line, column: diagnostic.mark.column, message: error.message,
        rendered: diagnostic.description)
    }
  }

  /// Files commands read as YAML (known-issues lists) are small: 1 MiB and 100,000 nodes.
  package static let yamlTreeLimits: YAMLLimits = {
    var limits = YAMLLimits.standard
    limits.maximumBytes = 1 << 20
    limits.maximumNodes = 100_000
    limits.maximumDepth = 64
    return limits
  }()

  /// Recursive: the parser bounds nesting at ``yamlTreeLimits``' 64 levels.
  private static func tree(_ node: YAMLNode) -> YAMLTree {
    switch node.content {
    case .scalar(let scalar):
      return YAMLTree(
        .scalar(scalar.value, quoted: scalar.style != .plain), line: node.mark.line, column: node.mark.column)
    case .sequence(let items):
      return YAMLTree(.sequence(items.map(tree)), line: node.mark.line, column: node.mark.column)
    case .mapping(let pairs):
      return YAMLTree(
        .mapping(pairs.map { YAMLTree.Pair(key: tree($0.key), value: tree($0.value)) }),
        line: node.mark.line, column: node.mark.column)
    }
  }
}
