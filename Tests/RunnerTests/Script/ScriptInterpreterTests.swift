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

@Suite struct ScriptInterpreterTests {
  let interpreter = ScriptInterpreter(
    registry: try! CommandRegistry(builtInCommands + [EchoTestCommand.self]))

  @Test func blankAndCommentLinesRunNothing() async throws {
    let context = RecordingJobContext()
    try await interpreter.run("# just a note", in: context)
    #expect(context.recordingLog.plainText == "$ # just a note\n")
  }

  @Test func aTokenizerErrorIsAScriptFailureNamingTheColumn() async throws {
    let context = RecordingJobContext()
    let error = try await #require(throws: ScriptLineError.self) {
      try await interpreter.run("echo-test 'oops", in: context)
    }
    #expect(error.failureReason == .scriptFailure)
    #expect(error.description.hasPrefix("column 11: unbalanced single quote"))
  }

  @Test func anUnknownCommandIsAScriptFailure() async throws {
    let error = try await #require(throws: ScriptLineError.self) {
      try await interpreter.run("sumbit job.yaml", in: RecordingJobContext())
    }
    #expect(error.failureReason == .scriptFailure)
  }

  @Test func helpInAScriptPrintsTheCommandsHelpAndSucceeds() async throws {
    let context = RecordingJobContext()
    try await interpreter.run("submit --help", in: context)
    #expect(context.recordingLog.plainText.contains("USAGE: submit <file>"))
  }

  @Test func aCommandsFailureReasonIsPassedOn() async throws {
    let error = try await #require(throws: CommandFailure.self) {
      try await interpreter.run("echo-test --fail x", in: RecordingJobContext())
    }
    #expect(error.failureReason == .runnerSystemFailure)
  }

  @Test(arguments: ["submit lava-job.yaml", "monitor-file jobs.json", "monitor-files jobs.json"])
  func lavaCommandsRunThroughTheInterpreterAndNameMissingSettings(line: String) async throws {
    let error = try await #require(throws: CommandFailure.self) {
      try await interpreter.run(line, in: RecordingJobContext())
    }
    #expect(error.failureReason == .scriptFailure)
    #expect(error.message.contains("LAVA_URL is not set") && error.message.contains("LAVA_TOKEN is not set"))
  }
}
