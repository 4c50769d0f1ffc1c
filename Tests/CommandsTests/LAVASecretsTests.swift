import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// The LAVA log, server errors and test results all carry the token and a masked value here;
/// none may reach the job log, an artifact or a failure message.
@Test(arguments: ["submit", "monitor-file"])
func noLogTextArtifactOrMessageContainsTheTokenOrAMaskedValue(command: String) async throws {
  let fake = FakeLAVAServer(submitting: [51])
  let leaky = [
    LAVALogLine.lava("target", "export TOKEN=\(lavaToken) SECRET=\(maskedSecret)"),
    LAVALogLine(raw: "- unparsable \(lavaToken) \(maskedSecret)", entry: nil),
    lavaJobFail("Infrastructure", "auth \(lavaToken) failed for \(maskedSecret)"),
  ]
  fake.script(
    51,
    .init(
      steps: [.init(.running, device: "d-\(maskedSecret)", visibleLines: 1), .init(.finished, .incomplete)],
      lines: leaky, testCases: [LAVATestCase(suite: "s", name: "t-\(maskedSecret)", result: "fail")],
      junit: "<testsuites name=\"\(lavaToken) \(maskedSecret)\"/>", failureComment: "comment \(lavaToken)"))
  let flaky = FakeLAVAServer.FakeError(.runnerSystemFailure, "502 for token \(lavaToken) \(maskedSecret)")
  fake.failLog(of: 51, from: 1, with: [flaky])
  fake.failLog(of: 51, from: 0, with: command == "submit" ? [] : [flaky])
  let context = try lavaContext(
    fake,
    files: ["lava-job.yaml": "secret: {{ job.SECRET }}\n", "jobs.json": #"{"jobids": [51]}"#])

  let failure = await outcome {
    if command == "submit" {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
    } else {
      try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
    }
  }

  let message = try #require(failure).message
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  let log = context.recordingLog.text
  #expect(log.contains("export TOKEN=[MASKED] SECRET=[MASKED]") || command != "submit")
  #expect(log.contains("502 for token [MASKED]"))
  var texts = [log, message]
  for name in context.offeredArtifacts.keys.sorted() { texts.append(try context.artifactText(name) ?? "") }
  #expect(context.offeredArtifacts.count == 2)
  for text in texts {
    #expect(!text.contains(lavaToken))
    #expect(!text.contains(maskedSecret))
  }
  #expect(try context.artifactText("51_log.yaml")?.contains("unparsable [MASKED] [MASKED]") == true)
  if command == "submit" { #expect(fake.definitions == ["secret: \(maskedSecret)\n"]) }
}
