import Protocols
import RunnerCore

/// Turns script lines into commands and runs them. Knows nothing of GitLab: the job context is
/// handed in.
package struct ScriptInterpreter: Sendable {
  package let registry: CommandRegistry

  /// The command a line asks for, or `nil` for a line with nothing to run (blank, comment).
  package func command(for line: String) throws(ScriptLineError) -> (any Command)? {
    let words: [String]
    do {
      words = try ScriptTokenizer.tokenize(line)
    } catch {
      throw .syntax(error)
    }
    if words.isEmpty { return nil }
    return try registry.parse(words)
  }

  /// Runs one script item: each of its lines in turn (see
  /// ``ScriptTokenizer/commandLines(_:)``), stopping at the first that fails. The blank lines
  /// of an item of several lines are skipped.
  func run(_ item: String, in context: any JobContext) async throws {
    let lines = ScriptTokenizer.commandLines(item)
    guard lines.count > 1 else { return try await runLine(item, in: context) }
    for line in lines where !line.allSatisfy(\.isWhitespace) {
      try Task.checkCancellation()
      try await runLine(line, in: context)
    }
  }

  /// Echoes `line` to the job log as a shell runner would, then runs it.
  ///
  /// A line that cannot be parsed fails with ``ScriptLineError`` (a `script_failure`); what the
  /// command throws is passed on.
  package func runLine(_ line: String, in context: any JobContext) async throws {
    await context.log.line("$ " + line, color: .green)
    let command: (any Command)?
    do {
      command = try self.command(for: line)
    } catch .helpRequested(_, let help) {
      await context.log.write(help.hasSuffix("\n") ? help : help + "\n")
      return
    }
    try await command?.run(in: context)
  }

  package init(registry: CommandRegistry) {
    self.registry = registry
  }
}

extension ScriptLineError: JobFailure {
  package var failureReason: FailureReason { .scriptFailure }
}
