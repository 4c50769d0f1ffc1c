import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private let definition = "job_name: smoke {{ job.CI_JOB_ID }}\nactions: []\n"

private func submit(_ context: RecordingJobContext) async -> CommandFailure? {
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return failure
}

private func finishedJob(
  lines: [LAVALogLine], health: LAVAJobHealth = .complete, tests: [LAVATestCase] = []
) -> FakeLAVAServer.ScriptedJob {
  FakeLAVAServer.ScriptedJob(
    steps: [
      .init(.submitted, visibleLines: 0), .init(.running, device: "qemu-01", visibleLines: lines.count / 2),
      .init(.finished, health, device: "qemu-01"),
    ],
    lines: lines, testCases: tests, junit: "<testsuites><testsuite name=\"0_smoke\"/></testsuites>\n")
}

@Test func submitRendersTheTemplateFollowsTheLogAndPassesWhenTheJobCompletes() async throws {
  let fake = FakeLAVAServer(submitting: [41])
  let lines = targetLines(5) + [lavaJobPass]
  fake.script(
    41, finishedJob(lines: lines, tests: [LAVATestCase(suite: "0_smoke", name: "uname", result: "pass")]))
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  #expect(await submit(context) == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")

  #expect(fake.definitions == ["job_name: smoke 777\nactions: []\n"])
  let text = context.recordingLog.plainText
  #expect(text.contains("LAVA job 41: https://lava.example.com/scheduler/job/41"))
  #expect(text.contains("LAVA job 41 is running on qemu-01"))
  #expect(
    context.renderedLAVALines
      == (1...5).map { "01:38:32 tgt  line \($0)" } + ["01:38:45 res  ✔ lava/job: pass"])
  #expect(try context.artifactText("41_log.yaml") == lines.map { $0.raw + "\n" }.joined())
  #expect(try context.artifactText("41_junit.xml")?.contains("0_smoke") == true)
  #expect(text.contains("section_start:") && text.contains("Submitting lava-job.yaml"))
}

@Test func aLogThatAppearsLateIsFollowedFromTheFirstLineAndNeverReReadFromZero() async throws {
  let fake = FakeLAVAServer(submitting: [7], pageSize: 2)
  let lines = targetLines(6)
  fake.script(
    7,
    .init(
      steps: [
        .init(.submitted, visibleLines: 0), .init(.scheduled, device: "rpi", visibleLines: 0),
        .init(.running, device: "rpi", visibleLines: 0), .init(.running, device: "rpi", visibleLines: 3),
        .init(.running, device: "rpi", visibleLines: 3), .init(.finished, .complete, device: "rpi"),
      ], lines: lines))
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  #expect(await submit(context) == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")

  #expect(context.renderedLAVALines == (1...6).map { "01:38:32 tgt  line \($0)" })
  let starts = fake.requests.filter { $0.hasPrefix("log 7 from ") }.map { Int($0.dropFirst(11))! }
  #expect(starts.first == 0)
  #expect(starts == starts.sorted(), "the log was asked from an earlier line again: \(starts)")
  let text = context.recordingLog.plainText
  for state in [
    "is queued (Submitted, waiting for a qemu)", "is scheduled on rpi", "is running on rpi",
    "finished: Complete",
  ] {
    #expect(text.contains("LAVA job 7 \(state)"))
  }
}

@Test func aFailingLogRequestIsRetriedFromTheSameLineWithoutLosingOrDoublingLines() async throws {
  let fake = FakeLAVAServer(submitting: [8], pageSize: 3)
  let lines =
    targetLines(3) + [LAVALogLine(raw: "- {\"dt\": ! \"x\" BROKEN", entry: nil)] + targetLines(4, from: 4)
  fake.script(8, finishedJob(lines: lines))
  let flaky = FakeLAVAServer.FakeError(.runnerSystemFailure, "502 Bad Gateway")
  fake.failLog(of: 8, from: 3, with: [flaky, flaky])
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  #expect(await submit(context) == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")

  #expect(
    context.renderedLAVALines
      == (1...3).map { "01:38:32 tgt  line \($0)" } + ["         raw  - {\"dt\": ! \"x\" BROKEN"]
      + (4...7).map { "01:38:32 tgt  line \($0)" })
  #expect(try context.artifactText("8_log.yaml") == lines.map { $0.raw + "\n" }.joined())
}

@Test func aServerThatStaysDownPastTheOutageBudgetEndsTheJobAsARunnerSystemFailure() async throws {
  let fake = FakeLAVAServer(submitting: [9])
  fake.script(9, finishedJob(lines: targetLines(4)))
  let down = FakeLAVAServer.FakeError(.runnerSystemFailure, "503 Service Unavailable")
  fake.failLog(of: 9, from: 0, with: Array(repeating: down, count: 100_000))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": definition],
    variables: [JobVariable(key: "LAVA_OUTAGE_TIMEOUT", value: "1s")])

  let started = ContinuousClock.now
  let failure = try #require(await submit(context))
  #expect(ContinuousClock.now - started >= .seconds(1))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("longer than the outage budget of 1s (LAVA_OUTAGE_TIMEOUT)"))
  #expect(failure.message.contains("503 Service Unavailable"))
  // Said when it began and then once per notice interval (50 ms in these tests), not once per
  // try (a try every 4 ms at most).
  let notices = context.recordingLog.plainText.components(separatedBy: "LAVA unreachable since").count - 1
  #expect(notices >= 1 && notices <= 40, "\(notices) notices")
  #expect(context.recordingLog.plainText.contains("of 1s), asking again for the log of LAVA job 9"))
}

@Test func aShortOutageIsWaitedOutSaidAndEndedWithoutLosingALine() async throws {
  let fake = FakeLAVAServer(submitting: [9])
  fake.script(9, finishedJob(lines: targetLines(4)))
  let down = FakeLAVAServer.FakeError(.runnerSystemFailure, "connection refused")
  fake.failLog(of: 9, from: 2, with: Array(repeating: down, count: 40))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": definition],
    variables: [JobVariable(key: "LAVA_OUTAGE_TIMEOUT", value: "60")])

  #expect(await submit(context) == nil)
  #expect(context.renderedLAVALines == (1...4).map { "01:38:32 tgt  line \($0)" })
  let text = context.recordingLog.plainText
  #expect(
    text.contains("LAVA unreachable since") && text.contains("of 1m), asking again for ")
      && text.contains(": connection refused"))
  #expect(text.contains("LAVA reachable again after"))
}

@Test func aFinalErrorIsNotRetriedWhateverTheBudget() async throws {
  let fake = FakeLAVAServer(submitting: [9])
  fake.script(9, finishedJob(lines: targetLines(4)))
  let malformed = FakeLAVAServer.FakeError(
    .runnerSystemFailure, "a reply lava-runner cannot read", retryability: .final)
  fake.failLog(of: 9, from: 0, with: [malformed])
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("a reply lava-runner cannot read"))
  #expect(!context.recordingLog.plainText.contains("LAVA unreachable"))
}

@Test(arguments: ["soon", "-5", "0", "10x", "9999999999999h"])
func aBadOutageTimeoutFailsTheJobBeforeAnythingIsSubmitted(value: String) async throws {
  let fake = FakeLAVAServer(submitting: [9])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": definition],
    variables: [JobVariable(key: "LAVA_OUTAGE_TIMEOUT", value: value)])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("LAVA_OUTAGE_TIMEOUT is '\(value)'; expected a duration such as 90s"))
  #expect(fake.definitions.isEmpty)
}

@Test(arguments: [
  ("Infrastructure", FailureReason.runnerSystemFailure), ("Bug", .runnerSystemFailure),
  ("Configuration", .runnerSystemFailure), ("Job", .scriptFailure), ("Test", .scriptFailure),
])
func anIncompleteJobFailsWithTheReasonItsErrorTypeGives(errorType: String, reason: FailureReason) async throws
{
  let fake = FakeLAVAServer(submitting: [10])
  fake.script(
    10, finishedJob(lines: targetLines(2) + [lavaJobFail(errorType, "deploy timed out")], health: .incomplete)
  )
  // One attempt: the retries of infrastructure failures have tests of their own (LAVARetryTests).
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": definition], variables: [JobVariable(key: "LAVA_RETRIES", value: "0")])

  let failure = try #require(await submit(context))
  #expect(failure.failureReason == reason)
  #expect(failure.message.contains("ended Incomplete"))
  #expect(failure.message.contains(errorType) && failure.message.contains("deploy timed out"))
  #expect(failure.message.contains("https://lava.example.com/scheduler/job/10"))
}

@Test func failedTestsFailTheJobAndAreListedTenAtMost() async throws {
  let fake = FakeLAVAServer(submitting: [11])
  let tests =
    (1...12).map { LAVATestCase(suite: "1_ltp", name: "case\($0)", result: "fail") }
    + [LAVATestCase(suite: "1_ltp", name: "fine", result: "pass")]
  fake.script(11, finishedJob(lines: [lavaJobPass], tests: tests))
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("12 failed tests"))
  #expect(failure.message.contains("1_ltp/case10") && !failure.message.contains("1_ltp/case11"))
  #expect(failure.message.contains("and 2 more"))
  #expect(!failure.message.contains("fine"))
  #expect(context.recordingLog.plainText.contains("11        1 of 3   qemu-01  Complete  12"))
}

@Test func ignoringTestFailuresPassesOnHealthAlone() async throws {
  let fake = FakeLAVAServer(submitting: [12])
  fake.script(
    12, finishedJob(lines: [lavaJobPass], tests: [LAVATestCase(suite: "s", name: "t", result: "fail")]))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": definition],
    variables: [JobVariable(key: "LAVA_IGNORE_TEST_FAILURES", value: "true")])
  #expect(await submit(context) == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")

  let incomplete = FakeLAVAServer(submitting: [13])
  incomplete.script(13, finishedJob(lines: [lavaJobFail("Test", "boom")], health: .incomplete))
  let second = try lavaContext(
    incomplete, files: ["lava-job.yaml": definition],
    variables: [JobVariable(key: "LAVA_IGNORE_TEST_FAILURES", value: "true")])
  #expect(await submit(second)?.failureReason == .scriptFailure)
}

@Test func aJobCanceledInLAVAIsAScriptFailureThatSaysSo() async throws {
  let fake = FakeLAVAServer(submitting: [14])
  fake.script(14, finishedJob(lines: targetLines(1), health: .canceled))
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("was canceled in LAVA"))
}

@Test func aMultinodeSubmissionFollowsEveryJobAndTagsEachLineWithItsJob() async throws {
  let fake = FakeLAVAServer(submitting: [20, 21], pageSize: 2)
  let server = [LAVALogLine.lava("target", "server up"), .lava("target", "server done")]
  let client = [LAVALogLine.lava("target", "client up"), .lava("target", "client done"), lavaJobPass]
  fake.script(20, finishedJob(lines: server))
  fake.script(21, finishedJob(lines: client))
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  #expect(await submit(context) == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")

  let rendered = context.renderedLAVALines
  #expect(
    rendered.filter { $0.hasPrefix("[20] ") } == [
      "[20] 01:38:32 tgt  server up", "[20] 01:38:32 tgt  server done",
    ])
  #expect(
    rendered.filter { $0.hasPrefix("[21] ") }
      == [
        "[21] 01:38:32 tgt  client up", "[21] 01:38:32 tgt  client done",
        "[21] 01:38:45 res  ✔ lava/job: pass",
      ])
  #expect(rendered.count == 5)
  #expect(try context.artifactText("20_log.yaml") == server.map { $0.raw + "\n" }.joined())
  #expect(try context.artifactText("21_log.yaml") == client.map { $0.raw + "\n" }.joined())
  #expect(
    context.offeredArtifacts.keys.sorted() == [
      "20_junit.xml", "20_log.yaml", "21_junit.xml", "21_log.yaml", "lava-report.json", "lava.env",
    ])
  #expect(try context.artifactText("lava.env")?.contains("LAVA_JOB_ID=20\nLAVA_JOB_IDS=20 21\n") == true)
  let text = context.recordingLog.plainText
  #expect(text.contains("LAVA job 20: https://") && text.contains("LAVA job 21: https://"))
}

@Test func oneMultinodeJobFailingFailsTheSubmission() async throws {
  let fake = FakeLAVAServer(submitting: [22, 23])
  fake.script(22, finishedJob(lines: [lavaJobPass]))
  fake.script(23, finishedJob(lines: [lavaJobFail("Infrastructure", "device lost")], health: .incomplete))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": definition], variables: [JobVariable(key: "LAVA_RETRIES", value: "0")])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("1 of 2 LAVA jobs failed") && failure.message.contains("device lost"))
}

@Test func theDeviceIsReportedEvenWhileLinesKeepFlowing() async throws {
  let fake = FakeLAVAServer(submitting: [15], pageSize: 1)
  fake.script(
    15,
    .init(steps: [.init(.running, device: "board-7"), .init(.finished, .complete)], lines: targetLines(30)))
  let context = try lavaContext(fake, files: ["lava-job.yaml": definition])

  #expect(await submit(context) == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")

  let lines = context.recordingLog.plainText.split(separator: "\n").map(String.init)
  let running = try #require(lines.firstIndex(of: "LAVA job 15 is running on board-7"))
  let last = try #require(lines.firstIndex(of: "01:38:32 tgt  line 30"))
  #expect(running < last)
  #expect(context.renderedLAVALines == (1...30).map { "01:38:32 tgt  line \($0)" })
}
