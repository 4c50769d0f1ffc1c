import ArgumentParser
import Foundation
import Protocols

// Script commands that exist only in tests, registered beside the built-in ones by the unit
// tests (interpreter, executor) and the system tests (the runner against the fake GitLab).

/// Writes its words to the job log: `echo-test [--times N] [--fail] WORDS...`.
public struct EchoTestCommand: Command {
  public static let metadata = CommandMetadata(
    name: "echo-test",
    aliases: ["say-test"],
    summary: "Write its words to the job log.",
    examples: [CommandExample("echo-test hello 'big world'", "Writes two words.")]
  )

  @Flag(name: .long, help: "Fail the job after writing.") var fail = false
  @Option(name: .long, help: "How many times.") var times = 1
  @Argument(help: "Words to write.") var words: [String] = []

  public init() {}

  public func run(in context: any JobContext) async throws {
    for _ in 0..<times { await context.log.line(words.joined(separator: "|")) }
    if fail { throw CommandFailure(.runnerSystemFailure, "asked to fail") }
  }
}

/// Waits until cancelled, then records that it saw the cancellation (as `submit` will, to
/// cancel its LAVA jobs).
public struct WaitTestCommand: Command {
  public static let metadata = CommandMetadata(
    name: "wait-test", summary: "Wait until cancelled.", examples: [CommandExample("wait-test", "Waits.")])

  public init() {}

  public func run(in context: any JobContext) async throws {
    do {
      try await Task.sleep(for: .seconds(60))
    } catch {
      let how = await context.cancellation.map { "\($0)" } ?? "nothing"
      await context.log.line("cleaning up after \(how)")
      throw error
    }
  }
}

/// Fails as infrastructure, with exit code 3.
public struct InfraFailTestCommand: Command {
  public static let metadata = CommandMetadata(
    name: "infra-fail-test", summary: "Fail as infrastructure.",
    examples: [CommandExample("infra-fail-test", "Fails.")])

  public init() {}

  public func run(in context: any JobContext) async throws {
    throw CommandFailure(.runnerSystemFailure, "the board farm is down", exitCode: 3)
  }
}

/// Counts to `--to`, one `tick N` line every `--every-ms`, saving the count in its checkpoint
/// after each line, so that a restarted runner resumes it at the next tick: `count-test --to 6`.
/// While the file `--gate` exists it waits before ticks above `--gate-after` (so that a test can
/// hold it mid-way). When cancelled it writes `cleaned up after <why>` to `--cleanup-file` (as
/// `submit` cancels its LAVA jobs).
public struct CountTestCommand: Command {
  public static let metadata = CommandMetadata(
    name: "count-test", summary: "Count, resumably.",
    examples: [CommandExample("count-test --to 3", "Counts.")],
    resumable: true)

  @Option(name: .long, help: "Last number.") var to = 3
  @Option(name: .customLong("every-ms"), help: "Pause between ticks.") var everyMilliseconds = 50
  @Option(name: .long, help: "Hold while this file exists.") var gate: String?
  @Option(name: .customLong("gate-after"), help: "Ticks before the gate.") var gateAfter = 0
  @Option(name: .customLong("cleanup-file"), help: "Where cancellation is recorded.") var cleanupFile: String?
  @Option(
    name: .customLong("save-gate"),
    help: "Hold while this file exists after writing a tick past --gate-after, before saving it.")
  var saveGate: String?

  public init() {}

  public func run(in context: any JobContext) async throws {
    var count = try await context.checkpoints.restored(Int.self) ?? 0
    do {
      while count < to {
        try await Task.sleep(for: .milliseconds(everyMilliseconds))
        if let gate, count >= gateAfter {
          while FileManager.default.fileExists(atPath: gate) { try await Task.sleep(for: .milliseconds(20)) }
        }
        count += 1
        await context.log.line("tick \(count)")
        if let saveGate, count > gateAfter {
          while FileManager.default.fileExists(atPath: saveGate) {
            try await Task.sleep(for: .milliseconds(20))
          }
        }
        try await context.checkpoints.save(count)
      }
    } catch {
      if Task.isCancelled, let cleanupFile {
        let why = await context.cancellation.map { "\($0)" } ?? "nothing"
        try? Data("cleaned up after \(why) at \(count)\n".utf8).write(to: URL(fileURLWithPath: cleanupFile))
      }
      throw error
    }
  }
}
