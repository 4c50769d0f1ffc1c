import ArgumentParser
import Commands
import Protocols
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

struct ClashingTestCommand: Command {
  static let metadata = CommandMetadata(name: "submit", summary: "Claims a built-in name.")
  func run(in context: any JobContext) async throws {}
}

@Suite struct CommandRegistryTests {
  /// Every word a registered command answers to: its name and aliases.
  static let registeredWords: [String] = builtInCommands.flatMap { [$0.metadata.name] + $0.metadata.aliases }

  @Test func theBuiltInRegistryResolvesEveryRegisteredCommandByNameAndAlias() throws {
    let registry = CommandRegistry.builtIn()
    #expect(registry.commands.map { $0.metadata.name } == builtInCommands.map { $0.metadata.name }.sorted())
    for type in builtInCommands {
      for word in [type.metadata.name] + type.metadata.aliases {
        #expect(try registry.resolve(word) == type, "\(word)")
      }
    }
  }

  @Test func aTestOnlyCommandIsListedAndDispatched() async throws {
    let registry = try CommandRegistry(builtInCommands + [EchoTestCommand.self])
    let listing = CommandsSubcommand.listing(registry.commands)
    let row = listing.split(separator: "\n").first { $0.hasPrefix("echo-test (alias: say-test) ") }
    #expect(row?.hasSuffix("  Write its words to the job log.") == true)

    let context = RecordingJobContext()
    let interpreter = ScriptInterpreter(registry: registry)
    try await interpreter.run("say-test --times 2 hello 'big world'", in: context)
    #expect(
      context.recordingLog.plainText
        == "$ say-test --times 2 hello 'big world'\nhello|big world\nhello|big world\n")
  }

  @Test func aDuplicateNameIsRejected() {
    #expect(
      throws: CommandRegistryError.duplicate(
        "submit", first: "SubmitCommand", second: "ClashingTestCommand")
    ) {
      try CommandRegistry(builtInCommands + [ClashingTestCommand.self])
    }
  }

  @Test func aDuplicateRegistrationOfTheSameTypeIsRejected() {
    #expect(throws: CommandRegistryError.self) {
      try CommandRegistry([EchoTestCommand.self, EchoTestCommand.self])
    }
  }

  @Test(arguments: registeredWords)
  func aTypoOfARegisteredWordSuggestsIt(word: String) throws {
    let registry = CommandRegistry.builtIn()
    let typo = word + "x"
    let error = try #require(throws: ScriptLineError.self) { try registry.resolve(typo) }
    guard case .unknownCommand(_, let suggestions) = error else {
      Issue.record("expected unknownCommand, got \(error)")
      return
    }
    #expect(suggestions.contains(word))
    #expect(error.description == "unknown command '\(typo)'; did you mean '\(suggestions.first ?? "")'?")
  }

  @Test func aSwapOfTwoLettersSuggestsTheMeantCommand() throws {
    let error = try #require(throws: ScriptLineError.self) { try CommandRegistry.builtIn().resolve("sumbit") }
    #expect(error.description == "unknown command 'sumbit'; did you mean 'submit'?")
  }

  @Test func aNameFarFromEveryCommandSuggestsTheListInstead() throws {
    let error = try #require(throws: ScriptLineError.self) { try CommandRegistry.builtIn().resolve("make") }
    #expect(
      error.description
        == "unknown command 'make'; run 'lava-runner commands --list' to see the commands this runner knows")
  }

  @Test func badArgumentsSayWhatIsWrongAndShowUsage() throws {
    let registry = CommandRegistry.builtIn()
    let missing = try #require(throws: ScriptLineError.self) { try registry.parse(["submit"]) }
    #expect(missing.description.hasPrefix("submit: Missing expected argument '<file>'"))
    #expect(missing.description.contains("Usage: submit <file>"))

    let extra = try #require(throws: ScriptLineError.self) {
      try registry.parse(["submit", "a.yaml", "b.yaml"])
    }
    #expect(extra.description.contains("Unexpected argument 'b.yaml'"))

    let option = try #require(throws: ScriptLineError.self) {
      try registry.parse(["submit", "--bogus", "a.yaml"])
    }
    #expect(option.description.contains("Unknown option '--bogus'"))
  }

  @Test func everyDocumentedExampleTokenizesAndParses() throws {
    let registry = try CommandRegistry(builtInCommands + [EchoTestCommand.self])
    let interpreter = ScriptInterpreter(registry: registry)
    for type in registry.commands {
      #expect(!type.metadata.examples.isEmpty, "\(type.metadata.name) documents no example")
      for example in type.metadata.examples {
        let command = try interpreter.command(for: example.line)
        #expect(command.map { Swift.type(of: $0) == type } == true, "\(example.line)")
      }
    }
  }
}
