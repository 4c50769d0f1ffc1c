import Commands
import Foundation
import Protocols
import TestSupport
import Testing

@testable import JobEngine
@testable import LAVA

/// One documented example of a command, as a test argument.
struct DocumentedExample: Sendable, CustomTestStringConvertible {
  var command: String
  var example: CommandExample

  var testDescription: String { example.line }

  /// Every example of every command of `commands`, in order.
  static func all(of commands: [any Command.Type]) -> [DocumentedExample] {
    commands.flatMap { type in
      type.metadata.examples.map { DocumentedExample(command: type.metadata.name, example: $0) }
    }
  }
}

/// What running an example left behind.
struct ExampleRun {
  var context: RecordingJobContext
  var lava: FakeLAVAServer
}

/// Runs an example line as a job would (tokenized, parsed and run by the script interpreter),
/// with the dependency files it declares, the LAVA variables set, and a LAVA server that
/// accepts every definition LAVA's own rules accept and passes every job.
func runDocumentedExample(_ example: CommandExample, registry: CommandRegistry) async throws -> ExampleRun {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lava-runner-example-\(UUID())")
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  var files: [String: URL] = [:]
  for (index, (path, content)) in example.files.sorted(by: { $0.key < $1.key }).enumerated() {
    let url = folder.appendingPathComponent("dependency-\(index)")
    try Data(content.utf8).write(to: url)
    files[path] = url
  }
  let token = "example-token-0123456789"
  let lava = FakeLAVAServer(submitting: [4242])
  lava.passEveryJob()
  let context = RecordingJobContext(
    variables: [
      JobVariable(key: "LAVA_URL", value: lava.url.absoluteString),
      JobVariable(key: "LAVA_TOKEN", value: token, masked: true),
      JobVariable(key: "CI_JOB_ID", value: "777", isPublic: true),
      JobVariable(key: "CI_PIPELINE_ID", value: "55", isPublic: true),
    ],
    dependencyFiles: files, workingDirectory: folder.appendingPathComponent("work"),
    lava: FakeLAVAConnector(lava, token: token) {
      JobDefinitionValidator().findings(in: $0, file: "example").lines
    })
  try FileManager.default.createDirectory(at: context.workingDirectory, withIntermediateDirectories: true)
  try await ScriptInterpreter(registry: registry).run(example.line, in: context)
  return ExampleRun(context: context, lava: lava)
}

/// The commands' documented examples are tests, as SwiftLint's rule examples are: a wrong
/// example (a renamed option, a file the command cannot read) fails here, not in a user's job.
@Suite struct CommandExamplesTests {
  @Test(arguments: DocumentedExample.all(of: builtInCommands))
  func everyDocumentedExampleSucceedsAgainstALAVAThatPassesItsJobs(_ documented: DocumentedExample)
    async throws
  {
    let run: ExampleRun
    do {
      run = try await runDocumentedExample(documented.example, registry: CommandRegistry.builtIn())
    } catch {
      Issue.record("\(documented.command) example '\(documented.example.line)' failed: \(error)")
      return
    }
    #expect(run.lava.protocolMistakes.isEmpty, "\(run.lava.protocolMistakes)")
    #expect(!run.context.recordingLog.plainText.contains("example-token-0123456789"))
  }

}
