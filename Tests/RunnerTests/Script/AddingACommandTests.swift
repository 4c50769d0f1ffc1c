import Commands
import Foundation
import Protocols
import TestSupport
import Testing

@testable import JobEngine
@testable import Runner
@testable import RunnerCore

/// CONTRIBUTING.md's "Adding a script command", followed to the letter: `ToyCountCommand` is
/// one file, and this registry is the one line. Nothing else was edited, yet the command is
/// listed, runs under `exec` (the executor of GitLab jobs), has its help and its README rows,
/// and its examples pass.
@Suite struct AddingACommandTests {
  let registry: CommandRegistry

  init() throws {
    registry = try CommandRegistry(builtInCommands + [ToyCountCommand.self])
  }

  @Test func theNewCommandIsListedByCommandsList() {
    let listing = CommandsSubcommand.listing(registry.commands)
    let row = listing.split(separator: "\n").first { $0.hasPrefix("toy-count (alias: toy-wc) ") }
    #expect(
      row?.hasSuffix("  Count the lines of a file from the dependencies' artifacts.") == true, "\(listing)")
  }

  /// Runs `line` as `lava-runner exec` does (its executor, a local context reading files from
  /// the current folder, a terminal log), with `files` in that folder; the printed text and
  /// the exit status.
  func exec(_ line: String, files: [String: String]) async throws -> (printed: String, status: Int) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("toy-exec-\(UUID())")
    defer { try? FileManager.default.removeItem(at: root) }
    let work = root.appendingPathComponent(".work")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    for (path, content) in files { try Data(content.utf8).write(to: root.appendingPathComponent(path)) }
    let printed = ExecPrintedText()
    let log = TerminalLog(secrets: [], colours: false) { printed.append($0) }
    let context = LocalJobContext(
      log: log, variables: JobVariables(), sourceDirectory: root, workingDirectory: work, lava: NoLAVA(),
      control: JobControl())
    let status = await ExecSubcommand.run(
      line, executor: ExecSubcommand.executor(registry), context: context,
      artifactsDirectory: root.appendingPathComponent("artifacts"))
    log.finish()
    return (printed.value, status)
  }

  @Test func theNewCommandRunsUnderExecWithItsArgumentsParsed() async throws {
    let (printed, status) = try await exec(
      "toy-wc 'my notes.txt'", files: ["my notes.txt": "one\ntwo\nthree\n"])
    #expect(status == 0, "\(printed)")
    #expect(printed.hasPrefix("$ toy-wc 'my notes.txt'\nmy notes.txt: 3 lines\n"), "\(printed)")
  }

  @Test func theNewCommandsFailureEndsTheExecJob() async throws {
    let (printed, status) = try await exec("toy-count empty.txt", files: ["empty.txt": ""])
    #expect(status == 1)
    #expect(
      printed.contains("ERROR: Job failed (script_failure): toy-count: empty.txt has 0 lines, fewer than 1"),
      "\(printed)")
  }

  @Test func theNewCommandsExamplesRunLikeTheBuiltInOnes() async throws {
    for example in ToyCountCommand.metadata.examples {
      let run = try await runDocumentedExample(example, registry: registry)
      #expect(run.context.recordingLog.plainText.contains(" lines\n"), "\(example.line)")
    }
  }

  @Test func theNewCommandAppearsInTheGeneratedReadmeTables() {
    let markdown = CommandsSubcommand.markdown(registry.commands)
    #expect(
      markdown.contains(
        "| `toy-count <file>` (alias `toy-wc`) | Count the lines of a file from the dependencies' artifacts. |\n"
      ),
      "\(markdown)")
    #expect(
      markdown.contains(
        "| `TOY_MINIMUM_LINES` | `toy-count` | `1` | fail the job when FILE has fewer lines than this |\n"),
      "\(markdown)")
  }

  @Test func theNewCommandsHelpListsItsVariables() throws {
    let details = CommandsSubcommand.details(of: try registry.resolve("toy-wc"))
    #expect(details.contains("TOY_MINIMUM_LINES  fail the job when FILE has fewer lines"), "\(details)")
    #expect(details.contains("(default: 1)"), "\(details)")
    #expect(details.contains("toy-count notes.txt"))
  }
}
