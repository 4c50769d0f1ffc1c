import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private func submit(_ context: RecordingJobContext) async -> CommandFailure? {
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return failure
}

@Test(arguments: ["LAVA_URL", "LAVA_TOKEN"])
func aMissingLAVASettingIsAScriptFailureNamingTheVariable(variable: String) async throws {
  let fake = FakeLAVAServer(submitting: [1])
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"], omit: [variable])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("\(variable) is not set"))
  #expect(fake.requests.isEmpty)
}

@Test func malformedSettingsAreReportedTogetherWithoutTheToken() async throws {
  let badToken = "abc def-\(lavaToken)"
  let fake = FakeLAVAServer(submitting: [1])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"],
    variables: [
      JobVariable(key: "LAVA_URL", value: "ftp://lava"), JobVariable(key: "LAVA_TOKEN", value: badToken),
      JobVariable(key: "LAVA_CANCELLATION", value: "sometimes"),
      JobVariable(key: "LAVA_IGNORE_TEST_FAILURES", value: "yes"),
    ])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("LAVA_URL is 'ftp://lava'"))
  #expect(failure.message.contains("LAVA_TOKEN contains whitespace"))
  #expect(failure.message.contains("LAVA_CANCELLATION is 'sometimes'; expected 'cancel'"))
  #expect(failure.message.contains("LAVA_IGNORE_TEST_FAILURES is 'yes'"))
  #expect(!failure.message.contains("abc def"))
  #expect(!failure.message.contains(lavaToken))
}

@Test func aWrongTokenGivesLAVAs403MessageWithoutTheToken() async throws {
  let fake = FakeLAVAServer(submitting: [1])
  let wrong = "wrong-token-999"
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"], variables: [JobVariable(key: "LAVA_TOKEN", value: wrong)])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("403 Forbidden") && failure.message.contains("Invalid token"))
  #expect(!failure.message.contains(wrong) && !context.recordingLog.text.contains(wrong))
}

@Test func aRefusedSubmissionShowsLAVAsReasonMasked() async throws {
  let fake = FakeLAVAServer(submitting: [1])
  fake.failSubmission(
    .init(
      .scriptFailure,
      "400 Bad Request: {\"message\":\"Devices unavailable: Device type 'nosuch' is unavailable. \(maskedSecret)\"}"
    ))
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("LAVA did not accept lava-job.yaml"))
  #expect(failure.message.contains("Device type 'nosuch' is unavailable"))
  #expect(!failure.message.contains(maskedSecret) && failure.message.contains("[MASKED]"))
}

@Test func aTemplateReferringToAnUnknownVariableFailsNamingItAndSubmitsNothing() async throws {
  let fake = FakeLAVAServer(submitting: [1])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "a: {{ job.CI_JOB_ID }}\nb: {{ job.NO_SUCH_VAR }}\nc: {{ other }}\n"])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("lava-job.yaml:2:4: unknown variable 'NO_SUCH_VAR'"))
  #expect(failure.message.contains("lava-job.yaml:3:4: 'other' is not a job variable"))
  #expect(fake.definitions.isEmpty)
}

/// Issue 11, item 2: the definition's size is bounded before it is read whole.
@Test func aDefinitionLargerThan16MiBIsRefusedBeforeAnythingIsSubmitted() async throws {
  let fake = FakeLAVAServer(submitting: [1])
  let large = "x: " + String(repeating: "a", count: SubmitCommand.maximumDefinitionBytes - 2)
  let context = try lavaContext(fake, files: ["lava-job.yaml": large])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.hasPrefix("submit: lava-job.yaml is larger than 16 MiB"))
  #expect(fake.definitions.isEmpty)
}

@Test func templateValuesAreInsertedVerbatim() throws {
  let variables = JobVariables([
    JobVariable(key: "URL", value: "https://x.example/a?b=1&c=<2>\"'"),
    JobVariable(key: "EMPTY", value: ""),
  ])
  let template = DefinitionTemplate(
    name: "t.yaml",
    text: "u: {{ job.URL }}\nv: {{{job.URL}}}\nw: {{& job.URL }}\ne: '{{job.EMPTY}}'\n{{! a note }}")
  let url = "https://x.example/a?b=1&c=<2>\"'"
  #expect(try template.render(with: variables) == "u: \(url)\nv: \(url)\nw: \(url)\ne: ''\n")
}

@Test func unsupportedTemplateTagsAreNamed() {
  let variables = JobVariables([JobVariable(key: "A", value: "1")])
  #expect(throws: CommandFailure.self) {
    try DefinitionTemplate(name: "t.yaml", text: "{{> partial }}").render(with: variables)
  }
  #expect(throws: CommandFailure.self) {
    try DefinitionTemplate(name: "t.yaml", text: "x: {{ job.A ").render(with: variables)
  }
  #expect(throws: Never.self) {
    try DefinitionTemplate(name: "t.yaml", text: "{{#job.UNSET}}x{{/job.UNSET}}").render(with: variables)
  }
}

@Test func definitionProblemsAreAScriptFailureListingThemAndNothingIsSubmitted() async throws {
  let fake = FakeLAVAServer(submitting: [1])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: x\n"],
    problems: { _ in ["lava-job.yaml:1:1: required key not provided: actions"] })
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("lava-job.yaml:1:1: required key not provided: actions"))
  #expect(fake.requests.isEmpty)
}

@Test func aDefinitionThatIsNotUTF8IsRejectedWithTheByteOffset() async throws {
  let fake = FakeLAVAServer(submitting: [1])
  let context = try lavaContext(fake)
  let file = context.workingDirectory.deletingLastPathComponent().appendingPathComponent("latin1.yaml")
  try Data([0x61, 0x3A, 0x20, 0xC3, 0xA9, 0x20, 0xE9, 0x0A]).write(to: file)
  let withFile = RecordingJobContext(
    variables: context.variables.all, dependencyFiles: ["lava-job.yaml": file], lava: context.lava)
  let failure = try #require(await submit(withFile))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("lava-job.yaml is not UTF-8 text: byte offset 6 (0xe9)"))
}

@Test func theCommandsDocumentTheirVariablesAndParseTheirExamples() throws {
  for type in [SubmitCommand.self, MonitorFileCommand.self] as [any Command.Type] {
    // Only submit streams LAVA logs and submits again.
    let names =
      [
        "LAVA_URL", "LAVA_TOKEN", "LAVA_CANCELLATION", "LAVA_IGNORE_TEST_FAILURES", "LAVA_OUTAGE_TIMEOUT",
      ]
      + (type == SubmitCommand.self
        ? [
          "LAVA_LOG_LEVELS", "LAVA_LOG_LIMIT", "LAVA_HANG_TIMEOUT", "LAVA_QUEUE_TIMEOUT", "LAVA_RETRIES",
          "LAVA_KNOWN_ISSUES", "LAVA_DEVICE_SECTIONS",
        ]
        : ["LAVA_HANG_TIMEOUT", "LAVA_QUEUE_TIMEOUT"])
    #expect(type.metadata.variables.map(\.name) == names, "\(type.metadata.name)")
    let help = type.helpMessage(columns: 200)
    for variable in type.metadata.variables {
      #expect(help.contains("\(variable.name)  "), "\(type.metadata.name) --help: \(variable.name)")
    }
  }
  #expect(try SubmitCommand.parse(["boards/rock 5b.yaml"]).file == "boards/rock 5b.yaml")
  #expect(try MonitorFileCommand.parse(["jobs.json"]).polling == .standard)
  #expect(MonitorFileCommand.configuration.aliases == ["monitor-files"])
}
