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
  // The LAVA log, the JUnit report, lava-report.json and lava.env.
  #expect(context.offeredArtifacts.count == 4)
  for text in texts {
    #expect(!text.contains(lavaToken))
    #expect(!text.contains(maskedSecret))
  }
  #expect(try context.artifactText("51_log.yaml")?.contains("unparsable [MASKED] [MASKED]") == true)
  if command == "submit" { #expect(fake.definitions == ["secret: \(maskedSecret)\n"]) }
}

/// Runs `submit` or `monitor-file` against `fake` and returns every text the job produced: the
/// job log, the failure message and each offered artifact, as bytes.
private func everythingWritten(by command: String, fake: FakeLAVAServer, context: RecordingJobContext)
  async throws -> [(name: String, bytes: [UInt8])]
{
  let failure = await outcome {
    if command == "submit" {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
    } else {
      try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
    }
  }
  var texts = [("job log", context.recordingLog.bytes), ("message", Array((failure?.message ?? "").utf8))]
  for name in context.offeredArtifacts.keys.sorted() {
    let url = try #require(context.offeredArtifacts[name])
    texts.append((name, Array(try Data(contentsOf: url))))
  }
  return texts
}

/// Issue 11, finding 5: LAVA_TOKEN followed by a combining mark or U+FE0F formed another
/// grapheme cluster, and the Character-based redactor printed it (4 times in the trace, twice
/// in <id>_log.yaml).
@Test(arguments: ["submit", "monitor-file"])
func finding5_aTokenFollowedByACombiningMarkOrVariationSelectorIsMaskedEverywhere(command: String)
  async throws
{
  let fake = FakeLAVAServer(submitting: [52])
  let acute = lavaToken + "\u{301}"
  let emoji = lavaToken + "\u{FE0F}"
  fake.script(
    52,
    .init(
      steps: [.init(.running, device: "d", visibleLines: 1), .init(.finished, .incomplete)],
      lines: [
        .lava("target", "export TOKEN=\(acute) AGAIN=\(emoji)"),
        LAVALogLine(raw: "- unparsable \(acute) \(emoji)", entry: nil),
        lavaJobFail("Infrastructure", "auth \(acute) failed"),
      ],
      testCases: [LAVATestCase(suite: "s", name: "t-\(emoji)", result: "fail")],
      junit: "<testsuites name=\"\(acute) \(emoji)\"/>", failureComment: "comment \(acute)"))
  // submit meets the error while following, monitor-file when it saves the log from line 0.
  fake.failLog(
    of: 52, from: command == "submit" ? 1 : 0,
    with: [FakeLAVAServer.FakeError(.runnerSystemFailure, "502 for \(emoji)")])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n", "jobs.json": #"{"jobids": [52]}"#])

  let texts = try await everythingWritten(by: command, fake: fake, context: context)

  // The LAVA log, the JUnit report, lava-report.json and lava.env.
  #expect(context.offeredArtifacts.count == 4)
  for (name, bytes) in texts {
    #expect(!bytes.containsBytes(of: lavaToken), "\(command): the token is in the \(name)")
  }
  #expect(texts[0].bytes.containsBytes(of: "502 for [MASKED]\u{FE0F}"), "the retry warning is shown, masked")
  let rawLog = try #require(texts.first { $0.name == "52_log.yaml" }).bytes
  #expect(rawLog.containsBytes(of: "- unparsable [MASKED]\u{301} [MASKED]\u{FE0F}\n"))
}

/// Issue 11, finding 6: the token JSON-escaped (in <id>_log.yaml and in quoted error bodies)
/// or URL-encoded passed the masker.
@Test(arguments: ["submit", "monitor-file"])
func finding6_jsonEscapedAndURLEncodedTokensAreMaskedEverywhere(command: String) async throws {
  let token = #"tok/0123"ab\cd-ef"#
  let escaped = [#"tok\/0123\"ab\\cd-ef"#, #"tok/0123\"ab\\cd-ef"#, #"tok\u002F0123\u0022ab\u005ccd-ef"#]
  let encoded = ["tok%2F0123%22ab%5Ccd-ef", "tok%2f0123%22ab%5ccd-ef"]
  let fake = FakeLAVAServer(submitting: [53])
  fake.script(
    53,
    .init(
      steps: [.init(.running, device: "d", visibleLines: 1), .init(.finished, .incomplete)],
      lines: [
        .lava("target", "export TOKEN=\(token)"),
        LAVALogLine(
          raw: #"- {"dt": "2026-11-29T01:38:32.1", "lvl": "target", "msg": "t=\#(escaped[0])"}"#,
          entry: LAVALogEntry(
            timestamp: "2026-11-29T01:38:32.1", level: "target", message: .text("t=\(token)"))),
        LAVALogLine(raw: "- unparsable \(escaped[2]) \(encoded[1])", entry: nil),
        lavaJobFail("Infrastructure", "GET /api?token=\(encoded[0]) failed"),
      ],
      testCases: [LAVATestCase(suite: "s", name: "t-\(encoded[1])", result: "fail")],
      junit: "<testsuites name=\"\(escaped[1]) \(encoded[0])\"/>"))
  let body = #"502 {"detail": "token \#(escaped[0]) refused", "url": "/api?token=\#(encoded[0])"}"#
  fake.failLog(
    of: 53, from: command == "submit" ? 1 : 0, with: [FakeLAVAServer.FakeError(.runnerSystemFailure, body)])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n", "jobs.json": #"{"jobids": [53]}"#], token: token)

  let texts = try await everythingWritten(by: command, fake: fake, context: context)

  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  // The LAVA log, the JUnit report, lava-report.json and lava.env.
  #expect(context.offeredArtifacts.count == 4)
  for (name, bytes) in texts {
    for form in [token] + escaped + encoded {
      #expect(!bytes.containsBytes(of: form), "\(command): \(form) is in the \(name)")
    }
  }
  #expect(
    texts[0].bytes.containsBytes(of: #"502 {"detail": "token [MASKED] refused""#),
    "the retry warning is shown, masked")
}

/// Issue 11, finding 4: `LAVA_URL` credentials (`http://user:pass@host/`) were printed in the
/// "Submitting … to …" header before the URL was rejected.
@Test(arguments: ["submit", "monitor-file"])
func finding4_aLAVAURLWithUserAndPasswordFailsTheJobWithoutPrintingThePassword(command: String)
  async throws
{
  let fake = FakeLAVAServer(submitting: [54])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n", "jobs.json": #"{"jobids": [54]}"#],
    variables: [JobVariable(key: "LAVA_URL", value: "http://lava-user:pa55w0rd-xyz@lava.example.com/")])

  let texts = try await everythingWritten(by: command, fake: fake, context: context)

  let message = String(decoding: texts[1].bytes, as: UTF8.self)
  #expect(message.contains("LAVA_URL holds a user name or password"), "\(message)")
  #expect(message.contains("http://[MASKED]@lava.example.com/"))
  #expect(message.contains("LAVA_TOKEN"))
  for (name, bytes) in texts {
    #expect(!bytes.containsBytes(of: "pa55w0rd-xyz"), "\(command): the password is in the \(name)")
    #expect(!bytes.containsBytes(of: "lava-user"), "\(command): the user is in the \(name)")
  }
  #expect(!texts[0].bytes.containsBytes(of: "Submitting"))
  #expect(fake.definitions.isEmpty)
}

@Test func anAddressIsQuotedWithoutWhatStandsBeforeItsAt() {
  #expect(LAVASettings.shown("https://u:p@host:8080/x@y") == "https://[MASKED]@host:8080/x@y")
  #expect(LAVASettings.shown("u:p@host/path") == "[MASKED]@host/path")
  #expect(LAVASettings.shown("ftp://a@b@host?q=@") == "ftp://[MASKED]@host?q=@")
  #expect(LAVASettings.shown("https://host/p@q") == "https://host/p@q")
}
