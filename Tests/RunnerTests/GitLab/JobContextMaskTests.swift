import Foundation
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

/// `JobContext.addMask`: a secret a command registers is hidden in the job log (also what the
/// log still holds back), in `mask(_:)` and in every masker made afterwards, in both contexts
/// the runner provides.
@Suite struct JobContextMaskTests {
  let secret = "lava-token-5678"

  /// Registers the secret mid-log, writes it split across writes and in other forms, and masks
  /// a file and a message with the context.
  func exercise(_ context: any JobContext) async -> (mask: String, file: [UInt8]) {
    await context.log.write("before ")
    await context.addMask(secret)
    await context.log.write("lava-token-")
    await context.log.write("5678 then \(secret)\u{FE0F} and lava%2Dtoken-5678\n")
    var masker = context.makeMasker()
    let file = masker.write("<x a=\"lava-token-".utf8) + masker.write("5678\"/>".utf8) + masker.flush()
    return (context.mask("error: \(secret)\u{301}"), file)
  }

  @Test func theRunnerContextHidesAnAddedSecretInTheTraceMessagesAndFiles() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mask-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let masker = SecretMasker(secrets: ["job-token-1234"])
    let trace = try JobTrace(spoolURL: folder.appendingPathComponent("trace.log"), masker: masker)
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let client = GitLabClient(
      instance: URL(string: "http://127.0.0.1:9/")!, http: http,
      identity: RunnerIdentity(name: "t", systemID: "s_00aa11bb22cc"), runnerToken: "r", mask: { $0 })
    let context = RunnerJobContext(
      trace: trace, variables: JobVariables(), workingDirectory: folder, control: JobControl(),
      dependencies: DependencyFiles(client: client, dependencies: [], directory: folder, log: trace),
      lava: NoLAVA(), masker: masker)

    let (message, file) = await exercise(context)
    trace.finish()

    let log = String(decoding: try trace.contents(), as: UTF8.self)
    #expect(log == "before [MASKED] then [MASKED]\u{FE0F} and [MASKED]\n")
    #expect(message == "error: [MASKED]\u{301}")
    #expect(String(decoding: file, as: UTF8.self) == "<x a=\"[MASKED]\"/>")
    #expect(context.mask("job-token-1234") == "[MASKED]")
  }

  @Test func theExecContextHidesAnAddedSecretInThePrintedLogMessagesAndFiles() async throws {
    let printed = ExecPrintedText()
    let log = TerminalLog(secrets: [], colours: false) { printed.append($0) }
    let folder = FileManager.default.temporaryDirectory
    let context = LocalJobContext(
      log: log, variables: JobVariables(), sourceDirectory: folder, workingDirectory: folder, lava: NoLAVA(),
      control: JobControl())

    let (message, file) = await exercise(context)
    log.finish()

    #expect(printed.value == "before [MASKED] then [MASKED]\u{FE0F} and [MASKED]\n")
    #expect(message == "error: [MASKED]\u{301}")
    #expect(String(decoding: file, as: UTF8.self) == "<x a=\"[MASKED]\"/>")
  }

  @Test func theTestContextMasksAsTheRunnerDoes() async {
    let context = RecordingJobContext()
    let (message, file) = await exercise(context)
    #expect(context.recordingLog.text == "before [MASKED] then [MASKED]\u{FE0F} and [MASKED]\n")
    #expect(message == "error: [MASKED]\u{301}")
    #expect(String(decoding: file, as: UTF8.self) == "<x a=\"[MASKED]\"/>")
  }
}
