import Foundation
import LAVA
import Protocols
import TestSupport
import Testing

@testable import Commands

/// LAVA_KNOWN_ISSUES read with the runner's own YAML reader (positions are libyaml's), then
/// applied by `submit` to a fake LAVA job's log.
@Suite("LAVA_KNOWN_ISSUES")
struct LAVAKnownIssuesTests {
  static let token = "tok-known-issues-0123"

  /// The problems of `text` as `submit` reports them, or nil when it is fine.
  func problems(_ text: String) -> String? {
    do {
      _ = try LAVAKnownIssues.parse(
        text, file: "known.yaml", tree: try LAVAConnections.yamlTree(of: text, name: "known.yaml"))
      return nil
    } catch {
      return "\(error)"
    }
  }

  @Test func everyMistakeOfTheFileIsNamedWithItsLineAndColumn() {
    let cases: [(String, String)] = [
      ("regex: a\naction: note\n", "known.yaml:1:1: expected a list of known issues"),
      ("- regex: a\n  action: note\n  colour: red\n", "known.yaml:3:3: unknown key 'colour'"),
      (
        "- regex: '(abc'\n  action: note\n", "known.yaml:1:10: regex '(abc' is not a valid regular expression"
      ),
      (
        "- regex: 'a{2,500}'\n  action: note\n",
        "known.yaml:1:10: regex 'a{2,500}' repeats more than 100 times"
      ),
      ("- regex: '(a)\\1'\n  action: note\n", "known.yaml:1:10: regex '(a)\\1' uses a backreference"),
      ("- regex: 'a(?=b)'\n  action: note\n", "known.yaml:1:10: regex 'a(?=b)' uses a lookaround"),
      ("- regex: ''\n  action: note\n", "known.yaml:1:10: regex '' is empty"),
      (
        "- regex: a\n  level: verbose\n  action: note\n",
        "known.yaml:2:10: level 'verbose' is not a LAVA log level"
      ),
      ("- regex: a\n  action: reboot\n", "known.yaml:2:11: action 'reboot' is not one of retry, fail, note"),
      (
        "- regex: a\n  count: 2\n  window: soon\n  action: note\n",
        "known.yaml:3:11: window 'soon' is not a duration"
      ),
      ("- regex: a\n  window: 5m\n  action: note\n", "known.yaml:2:11: a window needs a count"),
      (
        "- regex: a\n  count: 0\n  action: note\n",
        "known.yaml:2:10: count '0' must be a whole number from 1 to 1000"
      ),
      ("- regex: a\n  action: fail\n", "known.yaml:1:3: action fail needs a message"),
      ("- action: note\n", "known.yaml:1:3: 'regex' is missing"),
      ("- regex: a\n", "known.yaml:1:3: 'action' is missing"),
      ("- regex: [a, b]\n  action: note\n", "known.yaml:1:10: 'regex' must be a single value"),
      ("- regex: a\n  regex: b\n  action: note\n", "known.yaml:2:3: 'regex' is given twice"),
      ("- just a string\n", "known.yaml:1:3: expected a mapping with regex and action"),
      ("- regex: 'a\n  action: note\n", "known.yaml:"),
    ]
    for (text, expected) in cases {
      let found = problems(text)
      #expect(found?.contains(expected) == true, "\(text.debugDescription): \(found ?? "accepted")")
    }
  }

  @Test func aYAMLSyntaxErrorPointsAtItsLineAndColumn() {
    #expect(throws: YAMLTreeError.self) {
      try LAVAConnections.yamlTree(of: "- regex: a\n\tbad: 1\n", name: "k.yaml")
    }
    do {
      _ = try LAVAConnections.yamlTree(of: "- regex: a\n  action: [note\n", name: "k.yaml")
      Issue.record("accepted")
    } catch {
      #expect(error.file == "k.yaml")
      #expect(error.line == 3)
      #expect(error.description.hasPrefix("k.yaml:3:"))
    }
  }

  @Test func tooManyPatternsAreRefused() {
    let text = (0...LAVAKnownIssues.maximumIssues).map { "- {regex: a\($0), action: note}\n" }.joined()
    #expect(problems(text)?.contains("known.yaml:65:3: more than 64 known issues") == true)
  }

  @Test func aGoodFileGivesEveryField() throws {
    let text = """
      - name: usb
        regex: 'usb \\d+-\\d+: device descriptor read'
        level: target
        lava_action: boot-image-retry
        count: 3
        window: 5m
        action: retry
        message: the USB hub is failing
      """
    let issues = try LAVAKnownIssues.parse(
      text, file: "k.yaml", tree: try LAVAConnections.yamlTree(of: text, name: "k.yaml"))
    #expect(
      issues.issues == [
        .init(
          name: "usb", regex: #"usb \d+-\d+: device descriptor read"#, level: "target",
          lavaAction: "boot-image-retry", count: 3, window: .seconds(300), response: .retry,
          message: "the USB hub is failing", position: "1:3")
      ])
  }

  @Test func theExampleFileIsValid() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "examples/known-issues.yaml")
    let text = try String(contentsOf: url, encoding: .utf8)
    let issues = try LAVAKnownIssues.parse(
      text, file: "known-issues.yaml", tree: try LAVAConnections.yamlTree(of: text, name: "known-issues.yaml")
    )
    #expect(issues.issues.map(\.response) == [.retry, .fail, .note])
    let watcher = LAVAKnownIssueWatcher(issues)
    #expect(
      watcher.inspect(.lava("target", "rcu: INFO: rcu_sched detected stalls on CPUs")).map(\.response) == [
        .fail
      ])
  }

  // MARK: - Matching

  func watcher(_ text: String) throws -> LAVAKnownIssueWatcher {
    LAVAKnownIssueWatcher(
      try LAVAKnownIssues.parse(
        text, file: "k.yaml", tree: try LAVAConnections.yamlTree(of: text, name: "k.yaml")))
  }

  @Test func countWithinAWindowUsesLAVAsClock() throws {
    let watcher = try watcher("- {regex: 'error -71', count: 3, window: 10s, action: retry}\n")
    let spread = ["01:00:00", "01:00:20", "01:00:40"].map {
      LAVALogLine.lava("target", "usb error -71", at: $0)
    }
    #expect(spread.flatMap { watcher.inspect($0) }.isEmpty)
    let burst = ["01:01:00", "01:01:01", "01:01:02"].map {
      LAVALogLine.lava("target", "usb error -71", at: $0)
    }
    let hits = burst.flatMap { watcher.inspect($0) }
    #expect(hits.map(\.response) == [.retry])
    #expect(hits.first?.message == "known issue known issue 1 matched: usb error -71")
  }

  @Test func levelAndLAVAActionRestrictWhereAPatternMatches() throws {
    let watcher = try watcher(
      "- {regex: 'Kernel panic', level: target, lava_action: boot-image-retry, action: note, message: panic}\n"
    )
    #expect(watcher.inspect(.lava("target", "Kernel panic")).isEmpty)
    _ = watcher.inspect(.lava("info", "start: 2 boot-image-retry (timeout 00:05:00)"))
    #expect(watcher.inspect(.lava("info", "Kernel panic")).isEmpty)
    #expect(watcher.inspect(.lava("target", "Kernel panic - not syncing")).map(\.message) == ["panic"])
    _ = watcher.inspect(.lava("info", "end: 2 boot-image-retry (duration 00:00:09)"))
    #expect(watcher.inspect(.lava("target", "Kernel panic")).isEmpty)
  }

  @Test func onlyTheFirstBytesOfALongLineAreMatched() throws {
    let watcher = try watcher("- {regex: 'needle', action: note}\n")
    let far = String(repeating: "x", count: LAVAKnownIssues.maximumMatchedBytes) + "needle"
    #expect(watcher.inspect(.lava("target", far)).isEmpty)
    #expect(watcher.inspect(.lava("target", "xx needle")).count == 1)
  }

  // MARK: - Through submit

  func runSubmit(knownIssues: String?, lines: [LAVALogLine]) async throws -> (
    RecordingJobContext, FakeLAVAServer, (any Error)?
  ) {
    let fake = FakeLAVAServer(submitting: [97], pageSize: 100)
    fake.script(
      97,
      .init(
        steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete, device: "qemu-01")],
        lines: lines))
    var connector = FakeLAVAConnector(fake, token: Self.token)
    connector.yamlReader = { text, name throws(YAMLTreeError) in
      try LAVAConnections.yamlTree(of: text, name: name)
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("known-issues-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var files: [String: URL] = [:]
    for (name, text) in ["lava-job.yaml": "x: 1\n", "known.yaml": knownIssues ?? ""] {
      files[name] = directory.appendingPathComponent(name)
      try Data(text.utf8).write(to: files[name]!)
    }
    var variables = [
      JobVariable(key: "LAVA_URL", value: "https://lava.example.com/"),
      JobVariable(key: "LAVA_TOKEN", value: Self.token),
    ]
    if knownIssues != nil { variables.append(JobVariable(key: "LAVA_KNOWN_ISSUES", value: "known.yaml")) }
    let context = RecordingJobContext(
      variables: variables, dependencyFiles: files,
      workingDirectory: directory.appendingPathComponent("work"),
      lava: connector)
    let polling = LAVAPolling(
      active: .milliseconds(1), quietMax: .milliseconds(4),
      retry: RetryPolicy(initial: .milliseconds(1), maximum: .milliseconds(4), jitter: 0),
      outageNotice: .milliseconds(50), cleanupTimeout: .seconds(5))
    do {
      try await SubmitCommand(file: "lava-job.yaml", polling: polling).run(in: context)
      return (context, fake, nil)
    } catch {
      return (context, fake, error)
    }
  }

  static let boardLines: [LAVALogLine] = [
    .lava("info", "start: 1 boot-image-retry (timeout 00:05:00) [common]"),
    .lava("target", "usb 1-1: device descriptor read/64, error -71"),
    .lava("target", "login:"),
    .result(["definition": "lava", "case": "job", "result": "pass"]),
  ]

  @Test func noteIsPrintedAndTheJobGoesOn() async throws {
    let (context, fake, error) = try await runSubmit(
      knownIssues: "- {regex: 'error -71', action: note, message: flaky USB cable on this board}\n",
      lines: Self.boardLines)
    #expect(error == nil)
    #expect(fake.canceled.isEmpty)
    #expect(context.recordingLog.plainText.contains("flaky USB cable on this board"))
  }

  @Test func everyNoteOfALineIsPrintedEachOnItsOwnLine() async throws {
    let (context, _, error) = try await runSubmit(
      knownIssues: """
        - {regex: 'error -71', action: note, message: first note}
        - {regex: 'usb \\d-\\d', action: note, message: second note}
        """,
      lines: Self.boardLines)
    #expect(error == nil)
    let warnings = context.recordingLog.plainText.split(separator: "\n").filter { $0.contains("WARNING:") }
    #expect(warnings.contains { $0.contains("known issue known issue 1: first note") })
    #expect(warnings.contains { $0.contains("known issue known issue 2: second note") })
  }

  @Test func failBeatsRetryWhichBeatsNoteOnTheSameLine() {
    let note = LAVAKnownIssueHit(response: .note, issue: "n", message: "noted")
    let retry = LAVAKnownIssueHit(response: .retry, issue: "r", message: "again")
    let fail = LAVAKnownIssueHit(response: .fail, issue: "f", message: "broken")
    #expect(LAVAKnownIssueLineWatcher.verdict(of: [note, retry, fail]) == .fail("known issue f: broken"))
    #expect(LAVAKnownIssueLineWatcher.verdict(of: [note, retry]) == .retry("known issue r: again"))
    #expect(
      LAVAKnownIssueLineWatcher.verdict(of: [note, note])
        == .note("known issue n: noted\nknown issue n: noted"))
    #expect(LAVAKnownIssueLineWatcher.verdict(of: []) == nil)
  }

  @Test func nestedRepetitionIsAcceptedNowThatMatchingIsLinear() throws {
    let watcher = try watcher("- {regex: '(a+)+b', action: note}\n")
    #expect(watcher.inspect(.lava("target", String(repeating: "a", count: 4000))).isEmpty)
    #expect(watcher.inspect(.lava("target", "xaab")).count == 1)
  }

  @Test func retryCancelsTheLAVAJobAndFailsAsAnInfrastructureFailure() async throws {
    let (context, fake, error) = try await runSubmit(
      knownIssues: "- {name: usb, regex: 'error -71', action: retry, message: USB hub reset}\n",
      lines: Self.boardLines)
    let failure = try #require(error as? CommandFailure)
    #expect(failure.failureReason == .runnerSystemFailure)
    #expect(failure.message.contains("known issue usb: USB hub reset"), "\(failure.message)")
    // An infrastructure failure: submitted again (LAVA_RETRIES 2), the issue seen every time.
    #expect(fake.canceled == [97, 97, 97])
    let report = try #require(context.offeredArtifacts["lava-report.json"])
    let json = try String(contentsOf: report, encoding: .utf8)
    #expect(json.contains("\"known_issue\""))
    #expect(json.contains("\"action\" : \"retry\""))
  }

  @Test func failEndsTheJobNowWithTheMessageAsAScriptFailure() async throws {
    let (context, fake, error) = try await runSubmit(
      knownIssues: "- {regex: 'error -71', level: target, action: fail, message: this kernel breaks USB}\n",
      lines: Self.boardLines)
    let failure = try #require(error as? CommandFailure)
    #expect(failure.failureReason == .scriptFailure)
    #expect(failure.message.contains("this kernel breaks USB"))
    // Never retried: one LAVA job, canceled once.
    #expect(fake.canceled == [97])
    #expect(context.recordingLog.plainText.contains("this kernel breaks USB"))
  }

  @Test func aBadFileFailsTheJobBeforeAnythingIsSubmitted() async throws {
    let (_, fake, error) = try await runSubmit(
      knownIssues: "- regex: a\n  action: reboot\n", lines: Self.boardLines)
    let failure = try #require(error as? CommandFailure)
    #expect(failure.failureReason == .scriptFailure)
    #expect(failure.message.contains("known.yaml:2:11: action 'reboot'"))
    #expect(fake.definitions.isEmpty)
  }

  @Test func aYAMLSyntaxErrorFailsTheJobBeforeAnythingIsSubmitted() async throws {
    let (_, fake, error) = try await runSubmit(knownIssues: "- regex: 'a\n", lines: Self.boardLines)
    let failure = try #require(error as? CommandFailure)
    #expect(failure.message.contains("LAVA_KNOWN_ISSUES: known.yaml is not valid YAML"))
    #expect(failure.message.contains("known.yaml:"))
    #expect(fake.definitions.isEmpty)
  }
}
