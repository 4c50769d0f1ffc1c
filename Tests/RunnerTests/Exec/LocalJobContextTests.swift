import ArgumentParser
import Foundation
import Protocols
import Synchronization
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Collects what a TerminalLog prints.
final class ExecPrintedText: Sendable {
  private let text = Mutex("")
  func append(_ piece: String) { text.withLock { $0 += piece } }
  var value: String { text.withLock { $0 } }
}

/// A command for these tests: logs the words it is given, offers a file, fails when asked.
struct ExecEchoCommand: Command {
  static let metadata = CommandMetadata(name: "echo-test", summary: "Test command.")
  @Argument var words: [String] = []
  @Option var fail: String?

  func run(in context: any JobContext) async throws {
    for word in words {
      // In two writes, so that masking must hold a secret's start back.
      await context.log.write(String(word.prefix(3)))
      await context.log.write(String(word.dropFirst(3)) + "\n")
    }
    let file = context.workingDirectory.appendingPathComponent("out.txt")
    try Data("result".utf8).write(to: file)
    try await context.offerArtifact(named: "sub/out.txt", file: file)
    if let fail { throw CommandFailure(.runnerSystemFailure, fail, exitCode: 3) }
  }
}

struct LocalJobContextTests {
  let source: URL
  let work: URL

  init() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("exec-test-\(UUID())")
    source = root.appendingPathComponent("src")
    work = root.appendingPathComponent("work")
    try FileManager.default.createDirectory(
      at: source.appendingPathComponent("boards"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
  }

  /// exec's executor, with the test command registered.
  let executor = ExecSubcommand.executor(try! CommandRegistry([ExecEchoCommand.self]))

  func context(
    variables: JobVariables = JobVariables(),
    log: any MaskingJobLog = TerminalLog(secrets: [], colours: false) { _ in }
  )
    -> LocalJobContext
  {
    LocalJobContext(
      log: log, variables: variables, sourceDirectory: source, workingDirectory: work, lava: NoLAVA(),
      control: JobControl())
  }

  @Test func dependencyFilesAreFoundRelativeToTheSourceFolder() async throws {
    try Data("job".utf8).write(to: source.appendingPathComponent("boards/rock.yaml"))
    let found = try await context().dependencyFile(at: "./boards//rock.yaml")
    #expect(try String(contentsOf: found, encoding: .utf8) == "job")
  }

  @Test func aMissingFileNamesTheFileAndTheFolder() async throws {
    let error = await #expect(throws: LocalFileError.self) {
      try await context().dependencyFile(at: "nope.yaml")
    }
    #expect(error?.description.contains("nope.yaml is not in \(source.path)") == true)
    #expect(error?.failureReason == .scriptFailure)
  }

  @Test(arguments: ["/etc/passwd", "../secret.yaml", "boards/../../x.yaml"])
  func pathsOutsideTheFolderAreRefused(path: String) async throws {
    try Data("x".utf8).write(to: source.deletingLastPathComponent().appendingPathComponent("secret.yaml"))
    await #expect(throws: DependencyFileError.badPath(path)) { try await context().dependencyFile(at: path) }
  }

  @Test func offeredArtifactsAreCopiedUnderTheirNames() async throws {
    let context = context()
    let file = work.appendingPathComponent("12_log.yaml")
    try Data("log".utf8).write(to: file)
    try await context.offerArtifact(named: "logs/12_log.yaml", file: file)
    try await context.offerArtifact(named: "never-written.xml", file: work.appendingPathComponent("missing"))
    let target = source.appendingPathComponent("artifacts")
    try FileManager.default.createDirectory(
      at: target.appendingPathComponent("logs"), withIntermediateDirectories: true)
    try Data("old".utf8).write(to: target.appendingPathComponent("logs/12_log.yaml"))
    #expect(try LocalArtifactFolder(offers: context.offers, directory: target).copy() == ["logs/12_log.yaml"])
    #expect(
      try String(contentsOf: target.appendingPathComponent("logs/12_log.yaml"), encoding: .utf8) == "log")
  }

  @Test func anArtifactNameOutsideTheFolderIsRefused() async throws {
    await #expect(throws: ArtifactNameError.self) {
      try await context().offerArtifact(named: "../x", file: work)
    }
  }

  @Test func secretVariablesAreMaskedByNameAndByMaskOption() throws {
    let variables = try ExecSubcommand.jobVariables(
      environment: ["LAVA_TOKEN": "lava-token-value", "MY_PASSWORD": "pw-value-123", "PLAIN": "visible"],
      extra: ["BOARD_KEY=board-key-value", "PLAIN=visible-too"], masked: ["BOARD_KEY"])
    #expect(Set(variables.secretValues) == ["lava-token-value", "pw-value-123", "board-key-value"])
    #expect(variables["PLAIN"] == "visible-too")
  }

  @Test func aVarWithoutEqualsIsRefusedWithoutShowingItsValue() {
    #expect(throws: ExecUsageError.badVariable("SECRET_ONLY")) {
      try ExecSubcommand.jobVariables(environment: [:], extra: ["SECRET_ONLY"], masked: [])
    }
    #expect(throws: ExecUsageError.self) {
      try ExecSubcommand.jobVariables(environment: [:], extra: ["=x"], masked: [])
    }
  }

  @Test func thePrintedLogMasksLAVATokenAndMaskedKeysEvenAcrossWrites() async throws {
    let variables = try ExecSubcommand.jobVariables(
      environment: ["LAVA_TOKEN": "lava-token-value"], extra: ["BOARD_KEY=board-key-value"],
      masked: ["BOARD_KEY"])
    let printed = ExecPrintedText()
    let log = TerminalLog(secrets: variables.secretValues, colours: false) { printed.append($0) }
    let context = context(variables: variables, log: log)
    let line = ExecSubcommand.scriptLine([
      "echo-test", "lava-token-value", "board-key-value", "--fail", "bad lava-token-value",
    ])
    let status = await ExecSubcommand.run(
      line, executor: executor, context: context, artifactsDirectory: source.appendingPathComponent("a"))
    log.finish()
    let text = printed.value
    #expect(!text.contains("lava-token-value"))
    #expect(!text.contains("board-key-value"))
    #expect(text.contains("[MASKED]\n[MASKED]\n"))
    #expect(status == 3)
    #expect(text.hasSuffix("ERROR: Job failed (runner_system_failure): bad [MASKED]\n"), "\(text)")
    #expect(text.contains("  sub/out.txt\n"))
    #expect(FileManager.default.fileExists(atPath: source.appendingPathComponent("a/sub/out.txt").path))
  }

  @Test func aSucceedingCommandEndsWithJobSucceeded() async throws {
    let printed = ExecPrintedText()
    let log = TerminalLog(secrets: [], colours: false) { printed.append($0) }
    let context = context(log: log)
    let status = await ExecSubcommand.run(
      "echo-test hello", executor: executor, context: context,
      artifactsDirectory: source.appendingPathComponent("a"))
    log.finish()
    #expect(status == 0)
    #expect(printed.value.hasPrefix("$ echo-test hello\nhello\n"))
    #expect(printed.value.hasSuffix("Job succeeded\n"))
  }

  @Test func sectionMarkersAreDroppedAndColoursKeptOnlyWhenAsked() async {
    let date = Date(timeIntervalSince1970: 1_700_000_000)
    for colours in [false, true] {
      let printed = ExecPrintedText()
      let log = TerminalLog(secrets: [], colours: colours) { printed.append($0) }
      await log.section("lava_log_1", header: "LAVA job 1 log", collapsed: true, now: { date }) {
        await log.line("booting", color: .blue)
      }
      await log.line("after")
      log.finish()
      let expected =
        colours
        ? "LAVA job 1 log\n\u{1B}[34;1mbooting\u{1B}[0;m\nafter\n" : "LAVA job 1 log\nbooting\nafter\n"
      #expect(printed.value == expected)
    }
  }

  @Test func theEchoedLineQuotesWordsThatNeedIt() {
    #expect(ExecSubcommand.scriptLine(["submit", "boards/rock 5b.yaml"]) == "submit 'boards/rock 5b.yaml'")
    #expect(ExecSubcommand.scriptLine(["submit", "it's.yaml"]) == #"submit 'it'\''s.yaml'"#)
  }
}
