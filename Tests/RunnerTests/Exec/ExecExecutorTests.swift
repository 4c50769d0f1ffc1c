import Commands
import Foundation
import Protocols
import TestSupport
import Testing

@testable import GitLabAPI
@testable import JobEngine
@testable import Runner
@testable import RunnerCore

/// `exec` runs its line through the executor of GitLab jobs: same echo, same verdict, same
/// cancellation, its own log sink and artifacts folder.
struct ExecExecutorTests {
  let registry = try! CommandRegistry(
    builtInCommands + [EchoTestCommand.self, WaitTestCommand.self, InfraFailTestCommand.self])
  let root = FileManager.default.temporaryDirectory.appendingPathComponent("exec-executor-\(UUID())")

  /// A local context printing through a TerminalLog into `printed`.
  func localContext(printed: ExecPrintedText) throws -> (LocalJobContext, TerminalLog) {
    let work = root.appendingPathComponent("work-\(UUID())")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    let log = TerminalLog(secrets: [], colours: false) { printed.append($0) }
    let context = LocalJobContext(
      log: log, variables: JobVariables(), sourceDirectory: root, workingDirectory: work, lava: NoLAVA(),
      control: JobControl())
    return (context, log)
  }

  @Test(arguments: ["echo-test ok", "echo-test --fail x", "infra-fail-test", "sumbit job.yaml"])
  func execAndRunShareTheExecutorVerdict(line: String) async throws {
    let control = JobControl()
    let gitlab = ControlledContext(control: control)
    let outcome = await JobExecutor(interpreter: ScriptInterpreter(registry: registry)).execute(
      JobPayload(
        id: 1, token: "t", runnerInfo: .init(timeout: nil), steps: [.init(name: "script", script: [line])]),
      context: gitlab, control: control)

    let printed = ExecPrintedText()
    let (context, log) = try localContext(printed: printed)
    let status = await ExecSubcommand.run(
      line, executor: ExecSubcommand.executor(registry), context: context,
      artifactsDirectory: root.appendingPathComponent("artifacts"))
    log.finish()

    #expect(printed.value == gitlab.text, "exec printed what the GitLab job logged")
    #expect(status == outcome.exitCode)
    #expect(printed.value.hasPrefix("$ \(line)\n"))
  }

  @Test func anInterruptedExecCancelsTheCommandAndExits130() async throws {
    let printed = ExecPrintedText()
    let (context, log) = try localContext(printed: printed)
    async let status = ExecSubcommand.run(
      "wait-test", executor: ExecSubcommand.executor(registry), context: context,
      artifactsDirectory: root.appendingPathComponent("artifacts"))
    for _ in 0..<1000 where !printed.value.contains("$ wait-test") {
      try await Task.sleep(for: .milliseconds(10))
    }
    // What the SIGINT handler does.
    context.control.cancel(.canceledImmediately)
    #expect(await status == 130)
    log.finish()
    #expect(printed.value.contains("cleaning up after canceledImmediately\n"))
    #expect(printed.value.hasSuffix("ERROR: Job failed (script_failure): interrupted (Ctrl-C)\n"))
  }

  @Test(arguments: [
    ["submit", "boards/rock 5b.yaml"], ["submit", "it's.yaml"],
    ["echo-test", "", "#not-a-comment", "a\\b\"c"],
    ["echo-test", "$HOME", "line\nbreak", "tab\there"],
  ])
  func theEchoedLineRunsTheSameWords(words: [String]) throws {
    #expect(try ScriptTokenizer.tokenize(ExecSubcommand.scriptLine(words)) == words)
  }

  @Test func offeredNamesAndAskedForPathsAreCleanedByTheSameRules() async throws {
    let printed = ExecPrintedText()
    let (context, _) = try localContext(printed: printed)
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("boards"), withIntermediateDirectories: true)
    try Data("job".utf8).write(to: root.appendingPathComponent("boards/rock.yaml"))

    let found = try await context.dependencyFile(at: "boards/old/../rock.yaml")
    #expect(found.lastPathComponent == "rock.yaml")
    try await context.offerArtifact(named: "logs/./old/../12_log.yaml", file: found)
    #expect(context.offers.offered.keys.sorted() == ["logs/12_log.yaml"])
    #expect(ArchivePath.normalize("logs/./old/../12_log.yaml") == "logs/12_log.yaml")

    for outside in ["/etc/passwd", "logs/../../x.yaml", ".", ""] {
      await #expect(throws: ArtifactNameError.self) {
        try await context.offerArtifact(named: outside, file: found)
      }
      await #expect(throws: DependencyFileError.badPath(outside)) {
        try await context.dependencyFile(at: outside)
      }
    }
  }
}
