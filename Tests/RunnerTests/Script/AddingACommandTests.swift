import Commands
import Protocols
import TestSupport
import Testing

@testable import JobEngine
@testable import Runner

/// CONTRIBUTING.md's "Adding a script command", followed to the letter: `ToyCountCommand` is
/// one file, and this registry is the one line. Nothing else was edited, yet the command is
/// listed, runs as a job's line, has its help and its README rows, and its examples pass.
@Suite struct AddingACommandTests {
  let registry: CommandRegistry

  init() throws {
    registry = try CommandRegistry(builtInCommands + [ToyCountCommand.self])
  }

  @Test func theNewCommandIsListedByCommandsList() {
    let listing = CommandsCommand.listing(registry.commands)
    let row = listing.split(separator: "\n").first { $0.hasPrefix("toy-count (alias: toy-wc) ") }
    #expect(
      row?.hasSuffix("  Count the lines of a file from the dependencies' artifacts.") == true, "\(listing)")
  }

  @Test func theNewCommandRunsAsAScriptLineWithItsArgumentsParsed() async throws {
    let run = try await runDocumentedExample(
      CommandExample("toy-wc 'my notes.txt'", "", files: ["my notes.txt": "one\ntwo\nthree\n"]),
      registry: registry)
    #expect(run.context.recordingLog.plainText == "$ toy-wc 'my notes.txt'\nmy notes.txt: 3 lines\n")
  }

  @Test func theNewCommandsFailureReachesTheJob() async throws {
    let failure = await #expect(throws: CommandFailure.self) {
      try await runDocumentedExample(
        CommandExample("toy-count empty.txt", "", files: ["empty.txt": ""]), registry: self.registry)
    }
    #expect(failure?.failureReason == .scriptFailure)
  }

  @Test func theNewCommandsExamplesRunLikeTheBuiltInOnes() async throws {
    for example in ToyCountCommand.metadata.examples {
      let run = try await runDocumentedExample(example, registry: registry)
      #expect(run.context.recordingLog.plainText.contains(" lines\n"), "\(example.line)")
    }
  }

  @Test func theNewCommandAppearsInTheGeneratedReadmeTables() {
    let markdown = CommandsCommand.markdown(registry.commands)
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
    let details = CommandsCommand.details(of: try registry.resolve("toy-wc"))
    #expect(details.contains("TOY_MINIMUM_LINES  fail the job when FILE has fewer lines"), "\(details)")
    #expect(details.contains("(default: 1)"), "\(details)")
    #expect(details.contains("toy-count notes.txt"))
  }
}
