/// A 1-based position in a YAML source: lines and columns count characters, as editors show them.
package struct YAMLMark: Sendable, Hashable, Comparable, CustomStringConvertible {
  package var line: Int
  package var column: Int

  package static func < (lhs: YAMLMark, rhs: YAMLMark) -> Bool {
    (lhs.line, lhs.column) < (rhs.line, rhs.column)
  }

  package var description: String { "\(line):\(column)" }

  package init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
}

/// How a scalar was written; only plain scalars are resolved to null, booleans and numbers.
package enum YAMLScalarStyle: Sendable, Hashable {
  case plain
  case singleQuoted
  case doubleQuoted
  case literal
  case folded

  package var isQuoted: Bool { self == .singleQuoted || self == .doubleQuoted }
}

package struct YAMLScalar: Sendable, Hashable {
  package var value: String
  package var style: YAMLScalarStyle
}

package struct YAMLPair: Sendable, Hashable {
  package var key: YAMLNode
  package var value: YAMLNode
  /// Brought in by a `<<` merge key rather than written in this mapping.
  package var isMerged = false
}

/// One node of a parsed YAML document, with the position it starts at. Aliases are already
/// replaced by a copy of the anchored node (sharing its storage), so a consumer never needs to
/// resolve them; `alias` tells a walk that the copy's contents were seen at the anchor.
package struct YAMLNode: Sendable, Hashable {
  package enum Content: Sendable, Hashable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode])
    case mapping([YAMLPair])
  }

  package var content: Content
  package var mark: YAMLMark
  /// The tag as libyaml resolved it: `!` for the non-specific tag, `tag:yaml.org,2002:int` for `!!int`.
  package var tag: String?
  package var anchor: String?
  /// The anchor's name when this node stands for an alias `*name`.
  package var alias: String?

  package init(
    _ content: Content, mark: YAMLMark, tag: String? = nil, anchor: String? = nil, alias: String? = nil
  ) {
    self.content = content
    self.mark = mark
    self.tag = tag
    self.anchor = anchor
    self.alias = alias
  }

  package var scalar: YAMLScalar? {
    if case .scalar(let scalar) = content { return scalar }
    return nil
  }

  package var items: [YAMLNode]? {
    if case .sequence(let items) = content { return items }
    return nil
  }

  package var pairs: [YAMLPair]? {
    if case .mapping(let pairs) = content { return pairs }
    return nil
  }

  /// What kind of node this is, in words fit for an error message.
  package var kindDescription: String {
    switch content {
    case .sequence: return "a list"
    case .mapping: return "a mapping"
    case .scalar:
      switch resolved {
      case .null: return "an empty value"
      case .bool: return "a boolean"
      case .int: return "an integer"
      case .largeInt: return "an integer too large for 64 bits"
      case .float: return "a number"
      case .string, nil: return "a string"
      }
    }
  }

  /// The pair whose key is the string `key`; the last one wins, as in PyYAML (which LAVA uses).
  package func pair(forKey key: String) -> YAMLPair? {
    pairs?.last { $0.key.scalar?.value == key }
  }

  package subscript(key: String) -> YAMLNode? { pair(forKey: key)?.value }
}
