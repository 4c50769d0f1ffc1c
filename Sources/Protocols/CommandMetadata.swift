/// What a command says about itself: the registry and `lava-runner commands` read only this.
public struct CommandMetadata: Sendable, Equatable {
  /// The word a script line starts with, e.g. `submit`.
  public var name: String
  /// Other words that run the same command, e.g. `monitor-files`.
  public var aliases: [String]
  /// One line, shown by `lava-runner commands --list`.
  public var summary: String
  /// Longer text for `lava-runner commands NAME` and `NAME --help`.
  public var discussion: String
  /// Script lines as a user would write them; a test tokenizes and parses each one.
  public var examples: [CommandExample]

  public init(
    name: String,
    aliases: [String] = [],
    summary: String,
    discussion: String = "",
    examples: [CommandExample] = []
  ) {
    self.name = name
    self.aliases = aliases
    self.summary = summary
    self.discussion = discussion
    self.examples = examples
  }
}

/// A script line that uses a command, and what it does.
public struct CommandExample: Sendable, Equatable {
  public var line: String
  public var explanation: String

  public init(_ line: String, _ explanation: String) {
    self.line = line
    self.explanation = explanation
  }
}
