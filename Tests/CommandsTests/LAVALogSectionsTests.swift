import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// Feeds lines to a job's section tracker as the follower does and returns the job log text.
private func render(
  _ lines: [LAVALogLine], job: Int64 = 90, stoppedBecause why: String? = nil, deviceSections: Bool = false
)
  -> (text: String, sections: LAVALogSections)
{
  var sections = LAVALogSections(jobID: job, renderer: LAVALogRenderer(deviceSections: deviceSections))
  var text = lines.map { sections.consume($0) }.joined()
  text += sections.finish(why)
  return (text, sections)
}

/// Fails the test unless every section opened in `log` is closed, once, in order, with a valid
/// unique name.
func expectBalancedSections(_ log: String, sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(GitLabSections.problems(in: log) == [], sourceLocation: sourceLocation)
}

private func plain(_ text: String) -> String {
  text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
}

/// The text between a section's start and end markers.
private func body(of name: String, in log: String) -> String? {
  guard let start = log.range(of: ":\(name)[collapsed=true]\r") ?? log.range(of: ":\(name)\r"),
    let end = log.range(of: "section_end:", range: start.upperBound..<log.endIndex)
  else { return nil }
  var range = start.upperBound..<end.lowerBound
  // Up to the end marker of this very section, across nested ones.
  if let own = log.range(of: ":\(name)\r", range: start.upperBound..<log.endIndex),
    let marker = log.range(of: "section_end", options: .backwards, range: start.upperBound..<own.lowerBound)
  {
    range = start.upperBound..<marker.lowerBound
  }
  return String(log[range])
}

@Test func aPassingQemuJobHasOneCollapsedSectionPerTopLevelActionWithLAVAsTimeout() throws {
  let (log, sections) = render(try LAVALogFixture.lines("qemu-pass.log.yaml"))
  expectBalancedSections(log)
  let headers = GitLabSections.headers(in: log)
  let actions = headers.filter {
    $0.name.range(of: #"^lava_90_[0-9]+_[a-z]"#, options: .regularExpression) != nil
  }
  .filter { !$0.name.contains("_run_") && !$0.name.contains("_tc_") }
  #expect(
    actions.map(\.header) == [
      "16:35:16 info start: 0 validate",
      "16:35:16 info start: 1 deployimages (timeout 00:02:00) [common]",
      "16:35:17 info start: 2 boot-image-retry (timeout 00:02:00) [common]",
      "16:35:19 info start: 3 lava-test-retry (timeout 00:02:00) [common]",
      "16:35:20 info start: 4 finalize (timeout 00:00:30) [common]",
    ])
  #expect(headers.allSatisfy { $0.collapsed })
  #expect(sections.failedSections.isEmpty && sections.failedAction == nil)
  // The duration LAVA measured is the section's last line; GitLab's own, from the markers'
  // times, is LAVA's too.
  let boot = try #require(actions.first { $0.header.contains("boot-image-retry") })
  let bootBody = try #require(body(of: boot.name, in: log))
  #expect(plain(bootBody).hasSuffix("info end: 2 boot-image-retry (duration 00:00:03) [common]\n"))
  let markers = GitLabSections.markers(in: log).filter { $0.name == boot.name }
  #expect(markers.map(\.time) == [1_796_056_517, 1_796_056_519])
}

@Test func testRunsAndTestCasesGetSectionsNestedInTheirAction() throws {
  let (log, _) = render(try LAVALogFixture.lines("qemu-pass.log.yaml"))
  expectBalancedSections(log)
  let names = GitLabSections.markers(in: log).map { ($0.starts ? "+" : "-") + $0.name }
  let run = try #require(names.firstIndex { $0.hasPrefix("+") && $0.hasSuffix("_run_0_smoke") })
  let action = try #require(names.firstIndex { $0.hasSuffix("_lava-test-retry") })
  let cases = names.filter { $0.hasPrefix("+") && $0.contains("_tc_") }.map { $0.split(separator: "_").last! }
  #expect(action < run)
  #expect(cases == ["always-true", "echo-works"])
  let headers = GitLabSections.headers(in: log).map(\.header)
  #expect(headers.contains { $0.hasSuffix("▸ test definition 0_smoke") })
  #expect(headers.contains { $0.hasSuffix("▸ test case always-true") })
  // A test case's section holds its output and ends with its result.
  let tc = try #require(GitLabSections.headers(in: log).first { $0.header.hasSuffix("test case echo-works") })
  let text = plain(try #require(body(of: tc.name, in: log)))
  #expect(text.contains("<LAVA_SIGNAL_STARTTC echo-works>"))
  #expect(text.hasSuffix("res  ✔ 0_smoke/echo-works: pass\n"))
}

@Test func aFailedTestCaseIsRepeatedInAnOpenSectionAndTheJobGoesOnCollapsed() throws {
  let (log, sections) = render(try LAVALogFixture.lines("qemu-fail.log.yaml"))
  expectBalancedSections(log)
  let headers = GitLabSections.headers(in: log)
  let failed = try #require(headers.first { $0.header.contains("failed") })
  #expect(failed.header == "✘ test case 0_smoke/must-fail failed")
  #expect(!failed.collapsed)
  let shown = plain(try #require(body(of: failed.name, in: log)))
  #expect(shown.contains("tgt  <LAVA_SIGNAL_STARTTC must-fail>"))
  #expect(shown.contains("res  ✘ 0_smoke/must-fail: fail"))
  #expect(!shown.contains("passes-first"), "only the failed case's lines")
  // The action and the run go on after it, collapsed, and close as before.
  let after = headers.drop { $0.name != failed.name }.dropFirst().map(\.header)
  #expect(
    after.prefix(2).map { String($0.drop { $0 != "▸" }) } == [
      "▸ LAVA action 3 lava-test-retry (continued)", "▸ test definition 0_smoke (continued)",
    ])
  #expect(headers.filter { $0.name != failed.name }.allSatisfy { $0.collapsed })
  #expect(sections.failedSections == ["✘ test case 0_smoke/must-fail failed"])
  // The job itself completed: no action failed.
  #expect(sections.failedAction == nil)
}

@Test func aJobCanceledInLAVANamesTheActionItStoppedIn() throws {
  let (log, sections) = render(try LAVALogFixture.lines("qemu-long-canceled.log.yaml"))
  expectBalancedSections(log)
  #expect(sections.failedAction == "3 lava-test-retry")
  let failed = try #require(GitLabSections.headers(in: log).first { $0.header.contains("✘ LAVA action") })
  #expect(failed.header == "✘ LAVA action 3 lava-test-retry failed")
  #expect(!failed.collapsed)
  let shown = plain(try #require(body(of: failed.name, in: log)))
  #expect(shown.contains("lava-runner-tick 9"))
  #expect(
    shown.split(separator: "\n").count <= LAVALogSections.shownLines + 2, "the title, a note, the lines")
}

@Test func aJobThatFailsInsideAnActionWithoutEndingItNamesThatAction() throws {
  let lines: [LAVALogLine] = [
    .lava("info", "start: 1 tftp-deploy (timeout 00:02:00) [common]"),
    .lava("info", "downloading http://example.com/Image"),
    .lava("error", "tftp: timeout"),
    lavaJobFail("Infrastructure", "tftp timed out"),
  ]
  let (log, sections) = render(lines)
  expectBalancedSections(log)
  #expect(sections.failedAction == "1 tftp-deploy")
  let failed = try #require(GitLabSections.headers(in: log).first { !$0.collapsed })
  #expect(failed.header == "✘ LAVA action 1 tftp-deploy failed")
  let shown = plain(try #require(body(of: failed.name, in: log)))
  #expect(shown.contains("err  tftp: timeout"))
}

@Test(arguments: [100, 300, 420, 560])
func aLogThatStopsMidWayClosesEverySectionAndSaysWhere(cut: Int) throws {
  let lines = Array(try LAVALogFixture.lines("qemu-fail.log.yaml").prefix(cut))
  let (log, sections) = render(lines, stoppedBecause: "the GitLab job was canceled")
  expectBalancedSections(log)
  let open = try #require(GitLabSections.headers(in: log).last { !$0.collapsed })
  #expect(open.header.hasPrefix("✘ LAVA action "))
  #expect(open.header.hasSuffix("did not end (the GitLab job was canceled)"))
  #expect(sections.failedAction != nil)
}

@Test func sectionNamesAreValidForGitLabAndUniqueWhateverLAVACallsThings() throws {
  let lines: [LAVALogLine] = [
    .lava("info", "start: 1 Déploy Ünïcode (timeout 00:01:00)"),
    .lava("target", "<LAVA_SIGNAL_STARTRUN 0_Smoke/Test 1_1.1>"),
    .lava("target", "<LAVA_SIGNAL_TESTSET START Set-One>"),
    .lava("target", "<LAVA_SIGNAL_STARTTC CASE:1>"),
    .result(["definition": "0_Smoke/Test", "case": "CASE:1", "result": "pass"]),
    .lava("target", "<LAVA_SIGNAL_STARTTC CASE:1>"),
    .result(["definition": "0_Smoke/Test", "case": "CASE:1", "result": "pass"]),
    .lava("target", "<LAVA_SIGNAL_TESTSET STOP>"),
    .lava("debug", "Received signal: <TESTSET> STOP"),
    .lava("target", "<LAVA_SIGNAL_ENDRUN 0_Smoke/Test 1_1.1>"),
    .lava("debug", "Received signal: <ENDRUN> 0_Smoke/Test 1_1.1"),
    .lava("info", "end: 1 Déploy (duration 00:00:01)"),
    .lava("info", "start: 2 " + String(repeating: "x", count: 300)),
    .lava("info", "end: 2 " + String(repeating: "x", count: 300)),
  ]
  let (log, _) = render(lines)
  expectBalancedSections(log)
  let names = GitLabSections.markers(in: log).filter(\.starts).map(\.name)
  #expect(names.count == 6)
  #expect(names.allSatisfy { $0.count <= 64 && $0.hasPrefix("lava_90_") })
  #expect(names.contains { $0.hasSuffix("_set_set-one") })
  #expect(Set(names).count == names.count)
}

@Test func gitLabMarkersTheDevicePrintsAreRejoinedWhenLAVASplitsThemAndPassThroughWhenAllowed() throws {
  let start = "\u{1B}[0Ksection_start:1796056515:build[collapsed=true]\r\u{1B}[0KBuilding"
  let end = "\u{1B}[0Ksection_end:1796056516:build\r\u{1B}[0K"
  let lines: [LAVALogLine] = [
    .lava("info", "start: 3 lava-test-retry (timeout 00:02:00) [common]"),
    .lava("target", start),
    .lava("target", "compiling"),
    // LAVA cut the end marker in two.
    .lava("target", "\u{1B}[0Ksection_end:1796056516:bu"),
    .lava("target", "ild\r\u{1B}[0K"),
    .lava("info", "end: 3 lava-test-retry (duration 00:00:01) [common]"),
  ]
  let (log, _) = render(lines, deviceSections: true)
  expectBalancedSections(log)
  #expect(log.contains(start))
  #expect(log.contains(end))
  let markers = GitLabSections.markers(in: log).filter { $0.name == "build" }
  #expect(markers.map(\.starts) == [true, false])
  #expect(markers.first?.options == "[collapsed=true]")
  #expect(!plain(log).contains("ild\n"), "the cut piece is not a line of its own")
  // By default (issue 11) a board's markers are shown, not acted on, rejoined all the same.
  let (shown, _) = render(lines)
  #expect(GitLabSections.markers(in: shown).allSatisfy { $0.name.hasPrefix("lava_") })
  #expect(plain(shown).contains("tgt  ␛[0Ksection_end:1796056516:build␍␛[0K\n"))
}

@Test func aLineThatOnlyLooksLikeAMarkerIsNotHeldForever() throws {
  let lines: [LAVALogLine] = [
    .lava("target", "echo section_start:12:x"),
    .lava("info", "Job finished correctly"),
  ]
  let (log, _) = render(lines)
  #expect(plain(log).contains("tgt  echo section_start:12:x\n"))
  #expect(plain(log).contains("info Job finished correctly"))
  let (cut, _) = render([.lava("target", "section_end:12:y")])
  #expect(plain(cut).contains("tgt  section_end:12:y"), "a held line is written when the log ends")
}

@Test func lavaTimestampsBecomeSecondsSinceTheEpoch() {
  #expect(LAVALogSections.date("2026-11-30T16:35:15.627238")?.timeIntervalSince1970 == 1_796_056_515)
  #expect(LAVALogSections.date("1970-01-01T00:00:00") == Date(timeIntervalSince1970: 0))
  #expect(LAVALogSections.date("2000-02-29T12:00:00")?.timeIntervalSince1970 == 951_825_600)
  #expect(LAVALogSections.date("yesterday") == nil)
  #expect(LAVALogSections.date("2026-13-30T16:35:15") == nil)
}

// MARK: - Through `submit`

private func submitJob(
  _ id: Int64, lines: [LAVALogLine], health: LAVAJobHealth = .complete, tests: [LAVATestCase] = []
) -> FakeLAVAServer.ScriptedJob {
  .init(
    steps: [
      .init(.running, device: "qemu-01", visibleLines: lines.count / 3),
      .init(.running, device: "qemu-01", visibleLines: 2 * lines.count / 3),
      .init(.finished, health, device: "qemu-01"),
    ], lines: lines, testCases: tests)
}

@Test func submitShowsARealFailingQemuJobInSectionsWithTheFailedCaseOpen() async throws {
  let fake = FakeLAVAServer(submitting: [90], pageSize: 50)
  let lines = try LAVALogFixture.lines("qemu-fail.log.yaml")
  fake.script(
    90,
    submitJob(
      90, lines: lines, tests: [LAVATestCase(suite: "0_smoke", name: "must-fail", result: "fail")]))
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure?.failureReason == .scriptFailure)
  let log = context.recordingLog.text
  expectBalancedSections(log)
  let headers = GitLabSections.headers(in: log)
  #expect(headers.filter { $0.header.contains("info start: ") && $0.collapsed }.count == 5)
  #expect(headers.filter { !$0.collapsed }.map(\.header).contains("✘ test case 0_smoke/must-fail failed"))
  // Every LAVA line but debug and feedback is in the job log.
  let shown = lines.filter { !["debug", "feedback"].contains($0.entry?.level ?? "") }
  #expect(context.renderedLAVALines.count >= shown.count)
  #expect(try context.artifactText("90_log.yaml") == lines.map { $0.raw + "\n" }.joined())
}

@Test func aCanceledSubmitClosesTheSectionsOfTheActionItWasIn() async throws {
  let fake = FakeLAVAServer(submitting: [91], pageSize: 50)
  let lines = try LAVALogFixture.lines("qemu-long-canceled.log.yaml")
  fake.script(91, .init(steps: [.init(.running, device: "qemu-01", visibleLines: 400)], lines: lines))
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let task = Task { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  try await eventually { fake.requests.contains("log 91 from 400") }
  context.cancel(.canceledGracefully)
  task.cancel()
  _ = await task.result
  let log = context.recordingLog.text
  expectBalancedSections(log)
  #expect(fake.canceled == [91])
  let open = GitLabSections.headers(in: log).filter { !$0.collapsed }.map(\.header)
  #expect(
    open.contains { $0.hasPrefix("✘ LAVA action ") && $0.hasSuffix("did not end (the command was stopped)") })
}

@Test func aLogThatCannotBeReadAnyMoreLeavesNoSectionOpen() async throws {
  let fake = FakeLAVAServer(submitting: [92], pageSize: 100)
  let lines = try LAVALogFixture.lines("qemu-pass.log.yaml")
  fake.script(92, .init(steps: [.init(.running, device: "qemu-01", visibleLines: 200)], lines: lines))
  // A 4xx fails at once (a 5xx would be waited out for LAVA_OUTAGE_TIMEOUT).
  fake.failLog(of: 92, from: 200, with: [FakeLAVAServer.FakeError(.scriptFailure, "404 Not Found")])
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure?.message.contains("404 Not Found") == true)
  let log = context.recordingLog.text
  expectBalancedSections(log)
  let open = GitLabSections.headers(in: log).filter { !$0.collapsed }.map(\.header)
  #expect(open.contains { $0.hasSuffix("did not end (the log could not be read)") })
}

@Test func multinodeJobsShareTheLogWithoutActionSectionsThatWouldInterleave() async throws {
  let fake = FakeLAVAServer(submitting: [93, 94], pageSize: 50)
  let lines = try LAVALogFixture.lines("qemu-pass.log.yaml")
  fake.script(93, submitJob(93, lines: lines))
  fake.script(94, submitJob(94, lines: lines))
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure == nil)
  let log = context.recordingLog.text
  expectBalancedSections(log)
  #expect(
    !GitLabSections.markers(in: log).contains {
      $0.name.hasPrefix("lava_93_") || $0.name.hasPrefix("lava_94_")
    })
}
