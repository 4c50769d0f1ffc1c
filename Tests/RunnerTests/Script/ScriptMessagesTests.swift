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

/// Issue 11, finding 12: a multi-line script item and an unknown option are explained, not
/// misread.
@Suite struct ScriptMessagesTests {
  let interpreter = ScriptInterpreter(
    registry: try! CommandRegistry(builtInCommands + [EchoTestCommand.self]))

  @Test func finding12_multiLineScriptItemRunsEachLineAsItsOwnCommand() async throws {
    let context = RecordingJobContext()
    // What GitLab sends for `- |` followed by three lines.
    try await interpreter.run(
      "echo-test one\n\necho-test two 'three\nfour'\necho-test five \\\n  six\n", in: context)
    #expect(
      context.recordingLog.plainText
        == "$ echo-test one\none\n$ echo-test two 'three\nfour'\ntwo|three\nfour\n"
        + "$ echo-test five \\\n  six\nfive|six\n")
  }

  @Test func finding12_multiLineScriptItemStopsAtItsFirstFailingLine() async throws {
    let context = RecordingJobContext()
    let error = try await #require(throws: ScriptLineError.self) {
      try await interpreter.run("echo-test one\nsumbit job.yaml\necho-test never", in: context)
    }
    #expect(error.description.hasPrefix("unknown command 'sumbit'"))
    #expect(!context.recordingLog.plainText.contains("never"))
    #expect(context.recordingLog.plainText.contains("$ sumbit job.yaml\n"))
  }

  @Test func finding12_commentsAndQuotesDecideWhereACommandEnds() {
    #expect(ScriptTokenizer.commandLines("a 'b\nc' d\ne") == ["a 'b\nc' d", "e"])
    #expect(ScriptTokenizer.commandLines("a # it's a note\nb") == ["a # it's a note", "b"])
    #expect(ScriptTokenizer.commandLines("a \"b\\\"\nc\"\nd") == ["a \"b\\\"\nc\"", "d"])
    #expect(ScriptTokenizer.commandLines("one line") == ["one line"])
  }

  @Test(arguments: ["submit --version", "monitor-file --version", "submit --no-such=1"])
  func finding12_unknownOptionIsNamedRatherThanAMissingArgument(line: String) {
    let words = line.split(separator: " ").map(String.init)
    let error = #expect(throws: ScriptLineError.self) { try interpreter.registry.parse(words) }
    let option = String(words[1].prefix { $0 != "=" })
    #expect(error?.description.contains("Unknown option '\(option)'") == true, "\(String(describing: error))")
    #expect(error?.description.contains("Missing expected argument") == false)
  }

  @Test func finding12_declaredOptionsAreNotCalledUnknown() {
    #expect(
      CommandRegistry.optionNames(of: EchoTestCommand.self).isSuperset(of: ["--fail", "--times", "--help"]))
    let error = #expect(throws: ScriptLineError.self) {
      try interpreter.registry.parse(["echo-test", "--times"])
    }
    #expect(error?.description.contains("Unknown option") == false, "\(String(describing: error))")
  }
}
