import ArgumentParser
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
