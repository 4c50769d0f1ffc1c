/// A 1-based position in a YAML source: lines and columns count characters, as editors show them.
struct YAMLMark: Sendable, Hashable, Comparable, CustomStringConvertible {
  var line: Int
  var column: Int

  static func < (lhs: YAMLMark, rhs: YAMLMark) -> Bool {
    (lhs.line, lhs.column) < (rhs.line, rhs.column)
  }

  var description: String { "\(line):\(column)" }
}

/// How a scalar was written; only plain scalars are resolved to null, booleans and numbers.
enum YAMLScalarStyle: Sendable, Hashable {
  case plain
  case singleQuoted
  case doubleQuoted
  case literal
  case folded

  var isQuoted: Bool { self == .singleQuoted || self == .doubleQuoted }
}

struct YAMLScalar: Sendable, Hashable {
  var value: String
  var style: YAMLScalarStyle
}

struct YAMLPair: Sendable, Hashable {
  var key: YAMLNode
  var value: YAMLNode
  /// Brought in by a `<<` merge key rather than written in this mapping.
  var isMerged = false
}

/// One node of a parsed YAML document, with the position it starts at. Aliases are already
/// replaced by a copy of the anchored node (sharing its storage), so a consumer never needs to
/// resolve them; `alias` tells a walk that the copy's contents were seen at the anchor.
struct YAMLNode: Sendable, Hashable {
  enum Content: Sendable, Hashable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode])
    case mapping([YAMLPair])
  }

  var content: Content
  var mark: YAMLMark
  /// The tag as libyaml resolved it: `!` for the non-specific tag, `tag:yaml.org,2002:int` for `!!int`.
  var tag: String?
  var anchor: String?
  /// The anchor's name when this node stands for an alias `*name`.
  var alias: String?

  init(_ content: Content, mark: YAMLMark, tag: String? = nil, anchor: String? = nil, alias: String? = nil) {
    self.content = content
    self.mark = mark
    self.tag = tag
    self.anchor = anchor
    self.alias = alias
  }

  var scalar: YAMLScalar? {
    if case .scalar(let scalar) = content { return scalar }
    return nil
  }

  var items: [YAMLNode]? {
    if case .sequence(let items) = content { return items }
    return nil
  }

  var pairs: [YAMLPair]? {
    if case .mapping(let pairs) = content { return pairs }
    return nil
  }

  /// What kind of node this is, in words fit for an error message.
  var kindDescription: String {
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
  func pair(forKey key: String) -> YAMLPair? {
    pairs?.last { $0.key.scalar?.value == key }
  }

  subscript(key: String) -> YAMLNode? { pair(forKey: key)?.value }
}
