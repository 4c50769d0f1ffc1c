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

  /// Echoes `line` to the job log as a shell runner would, then runs it.
  ///
  /// A line that cannot be parsed fails with ``ScriptLineError`` (a `script_failure`); what the
  /// command throws is passed on.
  package func run(_ line: String, in context: any JobContext) async throws {
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
