import ArgumentParser

/// A script command: one type per command, its metadata static, its arguments parsed by
/// swift-argument-parser from the tokens of a script line.
///
/// The runner resolves the first token of a line to a conforming type through its registry,
/// parses the remaining tokens into a value of that type, and calls ``run(in:)`` with the
/// context of the job the line belongs to.
public protocol Command: ParsableCommand, Sendable {
  /// What `lava-runner commands` prints; read without creating a command.
  static var metadata: CommandMetadata { get }

  /// Runs the command for one job. Returning normally means the line succeeded; throwing
  /// fails the job, with the failure reason the error carries (see ``JobFailure``).
  func run(in context: any JobContext) async throws
}

extension Command {
  /// Derived from ``metadata`` so that `--help` and the registry never disagree.
  public static var configuration: CommandConfiguration {
    CommandConfiguration(
      commandName: metadata.name,
      abstract: metadata.summary,
      discussion: metadata.helpDiscussion,
      aliases: metadata.aliases
    )
  }
}
