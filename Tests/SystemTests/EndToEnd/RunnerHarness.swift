import ArgumentParser
import Commands
import Foundation
import Logging
import Protocols
import RunnerCore
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Writes a file and offers it as an artifact: `produce-test NAME CONTENT`.
struct ProduceTestCommand: Command {
  static let metadata = CommandMetadata(
    name: "produce-test", summary: "Offer a file as an artifact.",
    examples: [CommandExample("produce-test out.txt hello", "Offers out.txt.")])
  @Argument var name: String
  @Argument var content: String

  func run(in context: any JobContext) async throws {
    let file = context.workingDirectory.appendingPathComponent(UUID().uuidString)
    try Data(content.utf8).write(to: file)
    try await context.offerArtifact(named: name, file: file)
  }
}

/// Writes a dependency file's content to the log: `cat-test [--quietly] PATH`.
struct CatTestCommand: Command {
  static let metadata = CommandMetadata(
    name: "cat-test", summary: "Print a dependency file.",
    examples: [CommandExample("cat-test a.txt", "Prints.")])
  @Flag var quietly = false
  @Argument var path: String

  func run(in context: any JobContext) async throws {
    let url = try await context.dependencyFile(at: path, quietly: quietly)
    await context.log.line("content: " + (try String(contentsOf: url, encoding: .utf8)))
  }
}

/// Writes `lines` lines of `width` bytes in writes of random sizes: `spam-test LINES WIDTH SEED`.
struct SpamTestCommand: Command {
  static let metadata = CommandMetadata(
    name: "spam-test", summary: "Write a lot of log.",
    examples: [CommandExample("spam-test 10 80 1", "Writes.")])
  @Argument var lines: Int
  @Argument var width: Int
  @Argument var seed: UInt64

  static func text(lines: Int, width: Int, seed: UInt64) -> String {
    var generator = SplitMix64(seed: seed)
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 ".utf8)
    let block = (0..<(width + 4096)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(lines * (width + 8))
    for index in 0..<lines {
      bytes.append(contentsOf: "\(index) ".utf8)
      let start = Int(generator.next() % 4096)
      bytes.append(contentsOf: block[start..<start + width])
      bytes.append(10)
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  func run(in context: any JobContext) async throws {
    let text = Array(Self.text(lines: lines, width: width, seed: seed).utf8)
    var generator = SplitMix64(seed: seed ^ 0x9E37)
    var offset = 0
    while offset < text.count {
      let size = min(text.count - offset, 1 + Int(generator.next() % 70_000))
      await context.log.write(String(decoding: text[offset..<offset + size], as: UTF8.self))
      offset += size
    }
  }
}

/// Sleeps, then succeeds: `sleep-test MILLISECONDS`.
struct SleepTestCommand: Command {
  static let metadata = CommandMetadata(
    name: "sleep-test", summary: "Sleep.", examples: [CommandExample("sleep-test 100", "Sleeps 0.1 s.")])
  @Argument var milliseconds: Int

  func run(in context: any JobContext) async throws {
    try await Task.sleep(for: .milliseconds(milliseconds))
    await context.log.line("slept")
  }
}

/// A runner wired to a fake GitLab, with the test commands registered and short intervals.
struct RunnerHarness {
  static let runnerToken = "glrt-harness-runner-token-0123456789"
  let gitlab: FakeGitLab
  let http: HTTPClient
  let poller: JobPoller
  let stop = RunnerStop()

  init(
    gitlab: FakeGitLab, concurrent: Int = 4, finalUpdatePatience: Duration = .seconds(60),
    stateDirectory: StateDirectory? = nil
  ) async throws {
    self.gitlab = gitlab
    await gitlab.addRunnerToken(Self.runnerToken)
    http = try HTTPClient()
    let masker = SecretMasker(secrets: [Self.runnerToken])
    let client = GitLabClient(
      instance: await gitlab.url, http: http,
      identity: RunnerIdentity(name: "harness", systemID: "s_0123456789ab"), runnerToken: Self.runnerToken,
      mask: { masker.mask($0) })
    let registry = try CommandRegistry(
      builtInCommands + [
        EchoTestCommand.self, WaitTestCommand.self, InfraFailTestCommand.self, ProduceTestCommand.self,
        CatTestCommand.self, SpamTestCommand.self, SleepTestCommand.self, CountTestCommand.self,
      ])
    var settings = JobRunner.Settings()
    settings.traceInterval = .milliseconds(200)
    settings.keepAliveInterval = .milliseconds(500)
    settings.finalUpdatePatience = finalUpdatePatience
    settings.stateDirectory = stateDirectory
    settings.backoff = RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(200))
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    poller = JobPoller(
      client: client,
      runner: JobRunner(
        client: client, executor: JobExecutor(interpreter: ScriptInterpreter(registry: registry)),
        settings: settings, lava: NoLAVA(), logger: logger),
      concurrent: concurrent, checkInterval: .milliseconds(100),
      backoff: RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(200)), logger: logger)
  }

  /// Runs the runner while `body` runs, then stops it (aborting what still runs) and waits.
  func running<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    let poller = self.poller
    let stop = self.stop
    async let loop: Void = poller.run(until: stop)
    do {
      let value = try await body()
      stop.abort()
      try await loop
      await http.shutdown()
      return value
    } catch {
      stop.abort()
      try? await loop
      await http.shutdown()
      throw error
    }
  }
}
