import Protocols

/// Why a job a restarted runner found in its state directory cannot go on.
package enum JobResumeError: JobFailure, Equatable {
  /// The runner died while a command that cannot resume was running.
  case notResumable(command: String, line: String)
  /// The record's line is not the job's line at that place (a record of another job version).
  case scriptChanged(position: ScriptPosition)

  package var failureReason: FailureReason { .runnerSystemFailure }

  package var description: String {
    switch self {
    case .notResumable(let command, let line):
      "lava-runner restarted while `\(line)` was running, and `\(command)` cannot resume after a restart; "
        + "the job is failed as a runner system failure: retry it"
    case .scriptChanged(let position):
      "lava-runner restarted, but its record of this job names another command at script item "
        + "\(position.item + 1) than the job has; the job cannot be resumed: retry it"
    }
  }
}

extension ScriptInterpreter {
  /// Runs the script `items` from `progress.resumePoint` (or the first line), telling `progress`
  /// of every line before it runs. The resumed line is not echoed again (the log already has
  /// it) and its command must be resumable: it picks up from its checkpoint.
  func run(_ items: [String], in context: any JobContext, progress: any ScriptProgress) async throws {
    let start = progress.resumePoint
    for (itemIndex, item) in items.enumerated() where itemIndex >= (start?.item ?? 0) {
      let split = ScriptTokenizer.commandLines(item)
      let lines = split.count > 1 ? split : [item]
      for (lineIndex, line) in lines.enumerated() {
        if let start, itemIndex == start.item, lineIndex < start.line { continue }
        if lines.count > 1 && line.allSatisfy(\.isWhitespace) { continue }
        let position = ScriptPosition(item: itemIndex, line: lineIndex, command: line)
        if let start, start.item == itemIndex, start.line == lineIndex {
          // Even for a job cancelled meanwhile: the command cleans up its LAVA jobs.
          guard start.command == line else { throw JobResumeError.scriptChanged(position: start) }
          try await ending(position, progress) {
            try await resume(line, at: position, in: context, progress: progress)
          }
        } else {
          try Task.checkCancellation()
          try await progress.starting(position)
          try await ending(position, progress) { try await runLine(line, in: context) }
        }
      }
    }
  }

  /// Runs `body`, then tells `progress` that the line at `position` ended.
  private func ending(
    _ position: ScriptPosition, _ progress: any ScriptProgress, _ body: () async throws -> Void
  ) async throws {
    do {
      try await body()
    } catch {
      await progress.ended(position)
      throw error
    }
    await progress.ended(position)
  }

  private func resume(
    _ line: String, at position: ScriptPosition, in context: any JobContext, progress: any ScriptProgress
  ) async throws {
    let command: (any Command)?
    do {
      command = try self.command(for: line)
    } catch .helpRequested {
      return
    }
    guard let command else { return }
    let metadata = type(of: command).metadata
    guard metadata.resumable else { throw JobResumeError.notResumable(command: metadata.name, line: line) }
    try await progress.starting(position)
    try await command.run(in: context)
  }
}
