/// A read-only YAML document as a command sees it (``LAVAConnector/yamlTree(of:name:)``): scalars
/// as written (no type resolution: a command decides what `10` or `yes` means for its key),
/// sequences and mappings, each node with the 1-based line and column it starts at, so that a
/// command's own checks can point at the offending spot. Aliases are already resolved.
public struct YAMLTree: Sendable, Equatable {
  public enum Content: Sendable, Equatable {
    /// The scalar's text and whether it was quoted (`'10'` is text, `10` may be a number).
    case scalar(String, quoted: Bool)
    case sequence([YAMLTree])
    case mapping([Pair])
  }

  public struct Pair: Sendable, Equatable {
    public var key: YAMLTree
    public var value: YAMLTree

    public init(key: YAMLTree, value: YAMLTree) {
      self.key = key
      self.value = value
    }
  }

  public var content: Content
  public var line: Int
  public var column: Int

  public init(_ content: Content, line: Int, column: Int) {
    self.content = content
    self.line = line
    self.column = column
  }

  /// The scalar's text; nil for a sequence or mapping.
  public var scalar: String? {
    if case .scalar(let text, _) = content { return text }
    return nil
  }

  /// `line:column`, as errors show it.
  public var position: String { "\(line):\(column)" }
}

/// A YAML text that could not be read: `file:line:column: message`, with the offending line and a
/// caret under the column when the reader has it.
public struct YAMLTreeError: JobFailure, Equatable {
  public var file: String
  public var line: Int
  public var column: Int
  public var message: String
  /// The whole diagnostic as the reader renders it (position, message, source line, caret).
  public var rendered: String

  public init(file: String, line: Int, column: Int, message: String, rendered: String? = nil) {
    self.file = file
    self.line = line
    self.column = column
    self.message = message
    self.rendered = rendered ?? "\(file):\(line):\(column): \(message)"
  }

  /// A file a command reads is the job's content.
  public var failureReason: FailureReason { .scriptFailure }

  public var description: String { rendered }
}
