/// What a command says about itself: the registry, `--help`, `lava-runner commands` and the
/// README's command tables (`lava-runner commands --markdown`) read only this.
public struct CommandMetadata: Sendable, Equatable {
  /// The word a script line starts with, e.g. `submit`.
  public var name: String
  /// Other words that run the same command, e.g. `monitor-files`.
  public var aliases: [String]
  /// One line, shown by `lava-runner commands --list`.
  public var summary: String
  /// Longer text for `lava-runner commands NAME` and `NAME --help`.
  public var discussion: String
  /// The job variables the command reads; listed after the discussion and in the README.
  public var variables: [CommandVariable]
  /// Script lines as a user would write them; a test tokenizes, parses and runs each one.
  public var examples: [CommandExample]
  /// Whether the command can carry on after the runner restarted mid-command (it saves its
  /// progress in ``JobContext/checkpoints``). A job whose runner died during a command that
  /// cannot is failed on restart as a runner system failure, with a message saying so.
  public var resumable: Bool

  public init(
    name: String,
    aliases: [String] = [],
    summary: String,
    discussion: String = "",
    variables: [CommandVariable] = [],
    examples: [CommandExample] = [],
    resumable: Bool = false
  ) {
    self.name = name
    self.aliases = aliases
    self.summary = summary
    self.discussion = discussion
    self.variables = variables
    self.examples = examples
    self.resumable = resumable
  }

  /// The discussion followed by a "Variables:" list, as `--help` shows it: one variable a
  /// paragraph, its text wrapped beside the names to fit 80 columns.
  public var helpDiscussion: String {
    guard !variables.isEmpty else { return discussion }
    let width = variables.map(\.name.count).max() ?? 0
    let indent = String(repeating: " ", count: 2 + width + 2)
    let lines = variables.map { variable in
      let requirement = variable.defaultValue.map { "default: \($0)" } ?? "required"
      // "(default: X)" kept on one line.
      let words = (variable.meaning.split(separator: " ").map(String.init) + ["(\(requirement))"])
        .map { $0.filter { $0 != "`" && $0 != "*" } }
      let name = "  " + variable.name + String(repeating: " ", count: width - variable.name.count + 2)
      return name + Self.wrap(words, width: max(30, 80 - indent.count)).joined(separator: "\n" + indent)
    }
    return (discussion.isEmpty ? "" : discussion + "\n\n") + "Variables:\n" + lines.joined(separator: "\n")
  }

  /// `words` in lines of at most `width` characters (a longer word stays whole).
  static func wrap(_ words: [String], width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in words {
      if !line.isEmpty && line.count + 1 + word.count > width {
        lines.append(line)
        line = ""
      }
      line += (line.isEmpty ? "" : " ") + word
    }
    return lines + [line]
  }
}

/// A job variable a command reads.
public struct CommandVariable: Sendable, Equatable {
  /// The variable's name, e.g. `LAVA_URL`.
  public var name: String
  /// What applies when the job does not set it, in Markdown like ``meaning``; `nil`: required.
  public var defaultValue: String?
  /// What it does, in one sentence without a final full stop. Markdown (`code`, *emphasis*),
  /// shown without its marks by `--help`.
  public var meaning: String

  public init(_ name: String, default defaultValue: String? = nil, _ meaning: String) {
    self.name = name
    self.defaultValue = defaultValue
    self.meaning = meaning
  }
}

/// A script line that uses a command, and what it does.
public struct CommandExample: Sendable, Equatable {
  public var line: String
  public var explanation: String
  /// The dependency files the line reads, by path, with a content that works: a test runs the
  /// line with these files and a LAVA server that passes every job.
  public var files: [String: String]

  public init(_ line: String, _ explanation: String, files: [String: String] = [:]) {
    self.line = line
    self.explanation = explanation
    self.files = files
  }
}
