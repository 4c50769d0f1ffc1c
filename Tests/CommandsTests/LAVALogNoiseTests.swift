import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private func submitFixture(_ name: String, levels: String?) async throws -> (
  RecordingJobContext, [LAVALogLine]
) {
  let fake = FakeLAVAServer(submitting: [95], pageSize: 100)
  let lines = try LAVALogFixture.lines(name)
  fake.script(
    95, .init(steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete)], lines: lines))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"],
    variables: levels.map { [JobVariable(key: "LAVA_LOG_LEVELS", value: $0)] } ?? [])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure == nil)
  expectBalancedSections(context.recordingLog.text)
  return (context, lines)
}

@Test func byDefaultDebugAndFeedbackStayOutOfTheJobLogButNotOutOfTheArtifact() async throws {
  let (context, lines) = try await submitFixture("qemu-long-canceled.log.yaml", levels: nil)
  let tags = Set(context.renderedLAVALines.map { String($0.dropFirst(9).prefix(4)) })
  #expect(tags.isSuperset(of: ["info", "tgt ", "in  ", "res ", "warn", "err "]))
  #expect(!tags.contains("dbg ") && !tags.contains("fdbk"))
  #expect(try context.artifactText("95_log.yaml") == lines.map { $0.raw + "\n" }.joined())
  // LAVA's debug line that ends a test run still closes its section.
  #expect(context.recordingLog.plainText.contains("exc  The job was canceled"))
}

@Test func allShowsEveryLevelAndAListShowsOnlyThose() async throws {
  let (everything, lines) = try await submitFixture("qemu-long-canceled.log.yaml", levels: "all")
  let tags = Set(everything.renderedLAVALines.map { String($0.dropFirst(9).prefix(4)) })
  #expect(tags.isSuperset(of: ["dbg ", "fdbk"]))
  #expect(everything.renderedLAVALines.count >= lines.count)
  let (some, _) = try await submitFixture("qemu-pass.log.yaml", levels: "results, error")
  #expect(Set(some.renderedLAVALines.map { String($0.dropFirst(9).prefix(4)) }) == ["res "])
}

@Test(arguments: ["verbose", "info,chatty", ",", "all,debug", "INFO;debug"])
func aBadLogLevelsValueFailsBeforeSubmission(value: String) async throws {
  let fake = FakeLAVAServer(submitting: [96])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"], variables: [JobVariable(key: "LAVA_LOG_LEVELS", value: value)])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure?.failureReason == .scriptFailure)
  #expect(
    failure?.message.contains("LAVA_LOG_LEVELS is '\(value)'; expected 'all' or levels separated by commas")
      == true)
  #expect(fake.requests.isEmpty)
}

@Test func logLevelsAcceptCaseAndSpaces() {
  #expect(LAVALogLevels("All") == .all)
  #expect(LAVALogLevels(" Target , results ")?.shows("target") == true)
  #expect(LAVALogLevels("target,results")?.shows("debug") == false)
  #expect(LAVALogLevels.standard.shows("marker"), "a level LAVA adds later is shown by default")
  #expect(!LAVALogLevels.standard.shows("debug") && !LAVALogLevels.standard.shows("feedback"))
}

private func plain(_ text: String) -> String {
  text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
}

@Test func kernelMessagesHaveTheirTimestampDimmed() throws {
  let kernel = try #require(
    try LAVALogFixture.lines("qemu-pass.log.yaml").first {
      if case .text(let text)? = $0.entry?.message { text.hasPrefix("[    1.168036] MPTCP") } else { false }
    })
  let rendered = LAVALogRenderer().render(kernel)
  #expect(
    rendered.contains("tgt \u{1B}[0;m \u{1B}[90m[    1.168036]\u{1B}[0;m MPTCP token hash table entries"))
  #expect(!LAVALogRenderer().render(.lava("target", "[ok] done")).contains("\u{1B}[90m[ok]"))
}

@Test func aLoneCarriageReturnNoLongerSplitsALineAndControlCharactersAreMadeVisible() {
  let renderer = LAVALogRenderer()
  #expect(plain(renderer.render(.lava("target", "10%\r50%\r100%\r"))) == "01:38:32 tgt  10%␍50%␍100%\n")
  #expect(plain(renderer.render(.lava("target", "a\u{0}b\u{7}c\u{7F}"))) == "01:38:32 tgt  a␀b␇c␡\n")
  // The real qemu console: a terminal reset and a cursor query are shown, colours kept.
  let console = renderer.render(.lava("target", "\u{1B}c\u{1B}[?7l\u{1B}[2J\u{1B}[0mSeaBIOS / # \u{1B}[6n"))
  #expect(console.contains("␛c␛[?7l␛[2J\u{1B}[0mSeaBIOS / # ␛[6n"))
  #expect(!console.contains("\u{1B}c") && !console.contains("\u{1B}[2J"))
  #expect(plain(renderer.render(.lava("target", "x\r\ny"))) == "01:38:32 tgt  x\n01:38:32 tgt  y\n")
}

@Test(arguments: [nil, "false", "true"])
func deviceSectionMarkersFoldTheJobLogOnlyWhenLAVADeviceSectionsIsTrue(value: String?) async throws {
  let fake = FakeLAVAServer(submitting: [97], pageSize: 100)
  let start = "\u{1B}[0Ksection_start:1796056515:build[collapsed=true]\r\u{1B}[0KBuilding"
  let end = "\u{1B}[0Ksection_end:1796056516:build\r\u{1B}[0K"
  fake.script(
    97,
    .init(
      steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete)],
      lines: [
        .lava("target", start), .lava("target", "make -j2"), .lava("target", end),
      ]))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"],
    variables: value.map { [JobVariable(key: "LAVA_DEVICE_SECTIONS", value: $0)] } ?? [])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure == nil)
  let log = context.recordingLog.text
  expectBalancedSections(log)
  let boards = GitLabSections.markers(in: log).filter { $0.name == "build" }
  #expect(boards.map(\.starts) == (value == "true" ? [true, false] : []))
}

@Test func aBadLAVADeviceSectionsValueFailsBeforeSubmission() async throws {
  let fake = FakeLAVAServer(submitting: [98])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"],
    variables: [JobVariable(key: "LAVA_DEVICE_SECTIONS", value: "yes")])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure?.failureReason == .scriptFailure)
  #expect(failure?.message.contains("LAVA_DEVICE_SECTIONS is 'yes'; expected 'true'") == true)
  #expect(fake.requests.isEmpty)
}
