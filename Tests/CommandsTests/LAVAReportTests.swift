import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private let actionLines: [LAVALogLine] = [
  .lava("info", "start: 1 deployimages (timeout 00:02:00) [common]", at: "01:38:32"),
  .lava("target", "deploying"),
  .lava("info", "end: 1 deployimages (duration 00:00:03) [common]", at: "01:38:35"),
  .lava("info", "start: 2 boot-image-retry (timeout 00:05:00) [common]", at: "01:38:35"),
  .lava("target", "login:"),
  .lava("info", "end: 2 boot-image-retry (duration 00:01:02.5) [common]", at: "01:39:37"),
]

private let measuredTests = [
  LAVATestCase(suite: "1_smoke", name: "boot", result: "pass"),
  LAVATestCase(
    suite: "1_smoke", name: "dd-speed", result: "pass", measurement: "12.5000000000", units: "MB/s"),
]

private func runSubmit(
  _ lines: [LAVALogLine], health: LAVAJobHealth, tests: [LAVATestCase], comment: String? = nil
) async throws -> (RecordingJobContext, CommandFailure?) {
  let fake = FakeLAVAServer(submitting: [97], pageSize: 100)
  fake.script(
    97,
    .init(
      steps: [.init(.running, device: "qemu-01"), .init(.finished, health, device: "qemu-01")], lines: lines,
      testCases: tests, failureComment: comment))
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  return (context, failure)
}

/// The offered `lava-report.json`, parsed.
private func report(_ context: RecordingJobContext) throws -> [String: Any] {
  let text = try #require(try context.artifactText(LAVAReportFiles.report))
  return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

private func onlyJob(_ report: [String: Any]) throws -> [String: Any] {
  let attempts = try #require(report["attempts"] as? [[String: Any]])
  #expect(attempts.count == 1)
  let jobs = try #require(attempts.first?["jobs"] as? [[String: Any]])
  #expect(jobs.count == 1)
  return try #require(jobs.first)
}

@Test func aPassingJobsReportHasTheSchemaTimesActionDurationsAndMeasuredTests() async throws {
  let (context, failure) = try await runSubmit(
    actionLines + [lavaJobPass], health: .complete, tests: measuredTests)
  #expect(failure == nil)
  let report = try report(context)
  #expect(report["schema_version"] as? Int == LAVAReportDocument.schemaVersion)
  #expect(report["command"] as? String == "submit")
  #expect(report["file"] as? String == "lava-job.yaml")
  #expect(report["lava_url"] as? String == "https://lava.example.com/")
  #expect(report["passed"] as? Bool == true)
  #expect(report["failure_reason"] == nil)
  let attempt = try #require((report["attempts"] as? [[String: Any]])?.first)
  #expect(attempt["number"] as? Int == 1)
  #expect((attempt["retry"] as? [String: Any])?["retried"] as? Bool == false)
  #expect((attempt["retry"] as? [String: Any])?["reason"] as? String == "passed")
  let job = try onlyJob(report)
  #expect(job["id"] as? Int == 97)
  #expect(job["url"] as? String == "https://lava.example.com/scheduler/job/97")
  #expect(job["device"] as? String == "qemu-01")
  #expect(job["device_type"] as? String == "qemu")
  #expect(job["health"] as? String == "Complete")
  #expect(job["state"] as? String == "Finished")
  #expect(job["submit_time"] as? String == FakeLAVAServer.submitTime)
  #expect(job["start_time"] as? String == FakeLAVAServer.startTime)
  #expect(job["end_time"] as? String == FakeLAVAServer.endTime)
  let actions = try #require(job["actions"] as? [[String: Any]])
  #expect(actions.map { $0["name"] as? String } == ["deployimages", "boot-image-retry"])
  #expect(actions.map { $0["number"] as? String } == ["1", "2"])
  #expect(actions.map { $0["timeout"] as? String } == ["00:02:00", "00:05:00"])
  #expect(actions.map { $0["duration_seconds"] as? Double } == [3, 62.5])
  #expect(actions.first?["start"] as? String == "2026-11-29T01:38:32.619219")
  #expect(actions.first?["end"] as? String == "2026-11-29T01:38:35.619219")
  let tests = try #require(job["tests"] as? [[String: Any]])
  #expect(tests.count == 2)
  #expect(tests.last?["name"] as? String == "dd-speed")
  #expect(tests.last?["suite"] as? String == "1_smoke")
  #expect(tests.last?["result"] as? String == "pass")
  #expect(tests.last?["measurement"] as? String == "12.5000000000")
  #expect(tests.last?["units"] as? String == "MB/s")
  #expect(tests.first?["measurement"] == nil)
}

@Test func aFailingJobsReportNamesTheErrorTheFailedActionAndTheFailureReason() async throws {
  let lines: [LAVALogLine] = [
    .lava("info", "start: 1 tftp-deploy (timeout 00:02:00) [common]"),
    .lava("error", "tftp: timeout"),
    lavaJobFail("Infrastructure", "tftp timed out"),
  ]
  let (context, failure) = try await runSubmit(
    lines, health: .incomplete, tests: [LAVATestCase(suite: "lava", name: "job", result: "fail")],
    comment: "rack 3 unplugged")
  #expect(failure?.failureReason == .runnerSystemFailure)
  let report = try report(context)
  #expect(report["passed"] as? Bool == false)
  #expect(report["failure_reason"] as? String == "runner_system_failure")
  #expect((report["failure_message"] as? String)?.contains("tftp timed out") == true)
  // An Infrastructure error is retried (LAVA_RETRIES 2): three attempts, the last one decides.
  let all = try #require(report["attempts"] as? [[String: Any]])
  #expect(all.map { ($0["retry"] as? [String: Any])?["retried"] as? Bool } == [true, true, false])
  let job = try #require((all.last?["jobs"] as? [[String: Any]])?.first)
  #expect(job["health"] as? String == "Incomplete")
  #expect(job["error_type"] as? String == "Infrastructure")
  #expect(job["error_message"] as? String == "tftp timed out")
  #expect(job["failure_comment"] as? String == "rack 3 unplugged")
  #expect(job["failed_action"] as? String == "1 tftp-deploy")
  let actions = try #require(job["actions"] as? [[String: Any]])
  #expect(actions.count == 1)
  #expect(actions.first?["end"] == nil)
  #expect(actions.first?["duration_seconds"] == nil)
  let retry = try #require(all.last?["retry"] as? [String: Any])
  #expect((retry["reason"] as? String)?.isEmpty == false)
}

@Test func aFailedTestIsReportedAsTheJobsContentAndNeverRetried() async throws {
  let (context, failure) = try await runSubmit(
    [lavaJobPass], health: .complete, tests: [LAVATestCase(suite: "1_smoke", name: "net", result: "fail")])
  #expect(failure?.failureReason == .scriptFailure)
  let report = try report(context)
  #expect(report["failure_reason"] as? String == "script_failure")
  let attempt = try #require((report["attempts"] as? [[String: Any]])?.first)
  #expect(((attempt["retry"] as? [String: Any])?["reason"] as? String)?.contains("never retried") == true)
}

@Test func theReportAndTheDotenvFileNeverHoldASecret() async throws {
  let (context, _) = try await runSubmit(
    [lavaJobFail("Job", "bad token \(lavaToken) and \(maskedSecret)")], health: .incomplete, tests: [],
    comment: "comment with \(maskedSecret)")
  let text = try #require(try context.artifactText(LAVAReportFiles.report))
  #expect(!text.contains(lavaToken))
  #expect(!text.contains(maskedSecret))
  #expect(text.contains("[MASKED]"))
  #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
  let env = try #require(try context.artifactText(LAVADotenv.fileName))
  #expect(!env.contains(lavaToken))
  #expect(!env.contains(maskedSecret))
}

@Test func theDotenvFileNamesTheLAVAJobInTheFormGitLabAccepts() async throws {
  let (context, _) = try await runSubmit([lavaJobPass], health: .complete, tests: [])
  let env = try #require(try context.artifactText(LAVADotenv.fileName))
  #expect(
    env == """
      LAVA_JOB_ID=97
      LAVA_JOB_IDS=97
      LAVA_JOB_URL=https://lava.example.com/scheduler/job/97
      LAVA_DEVICE=qemu-01
      LAVA_DEVICE_TYPE=qemu
      LAVA_HEALTH=Complete

      """)
  #expect(DotenvRules.problem(inText: Data(env.utf8)) == nil)
}

@Test func dotenvValuesStayOnOneLineAndWithinGitLabsLimits() {
  #expect(LAVADotenv.value("rack 3\nboard\u{0}x ") == "rack 3_board_x")
  #expect(LAVADotenv.value(String(repeating: "é", count: 2000)).utf8.count <= LAVADotenv.maximumValueBytes)
  let long = LAVAJobReport(
    job: LAVAJob(
      id: 5, state: .finished, health: .complete, device: String(repeating: "d", count: 4000) + "\nX=1"),
    url: URL(string: "https://lava.example.com/scheduler/job/5")!, error: LAVAJobError(), failedTests: [])
  let text = LAVADotenv.text(of: [long], mask: { $0 })
  #expect(DotenvRules.problem(inText: Data(text.utf8)) == nil)
  #expect(DotenvRules.variables(Data(text.utf8))["X"] == nil)
}

@Test func monitorFileReportsOneAttemptPerListedJobAndNeverARetry() async throws {
  let fake = FakeLAVAServer(submitting: [], pageSize: 100)
  fake.script(41, .init(steps: [.init(.finished, .complete, device: "qemu-01")], lines: [lavaJobPass]))
  fake.script(
    42,
    .init(steps: [.init(.finished, .incomplete, device: "qemu-02")], lines: [lavaJobFail("Test", "boom")]))
  let context = try lavaContext(fake, files: ["jobs.json": "{\"jobids\": [41, 42]}"])
  let failure = await outcome {
    try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
  }
  #expect(failure != nil)
  let report = try report(context)
  #expect(report["command"] as? String == "monitor-file")
  let attempts = try #require(report["attempts"] as? [[String: Any]])
  #expect(attempts.map { $0["number"] as? Int } == [1, 2])
  let ids = attempts.map { (($0["jobs"] as? [[String: Any]])?.first?["id"] as? Int) }
  #expect(ids == [41, 42])
  let reasons = attempts.map { ($0["retry"] as? [String: Any])?["reason"] as? String }
  #expect(reasons.first == "passed")
  #expect(reasons.last??.contains("monitor-file never resubmits") == true)
  let env = try #require(try context.artifactText(LAVADotenv.fileName))
  // Several LAVA jobs: the single-valued variables name the first listed, all are listed.
  #expect(DotenvRules.variables(Data(env.utf8))["LAVA_JOB_ID"] == "41")
  #expect(DotenvRules.variables(Data(env.utf8))["LAVA_HEALTH"] == "Complete")
  #expect(DotenvRules.variables(Data(env.utf8))["LAVA_JOB_IDS"] == "41 42")
}

@Test func actionTimesTakeLAVAsDurationOrTheTimesBetweenStartAndEnd() {
  var times = LAVAActionTimes()
  for line in [
    LAVALogLine.lava("info", "start: 1 deploy (timeout 00:02:00)", at: "01:00:00"),
    .lava("info", "start: 1.1 nested (timeout 00:01:00)", at: "01:00:01"),
    .lava("info", "end: 1 deploy", at: "01:00:09"),
    .lava("info", "start: 2 boot (timeout 00:02:00)", at: "01:00:10"),
  ] {
    times.note(line.entry!)
  }
  #expect(times.actions.map(\.name) == ["deploy", "boot"])
  #expect(times.actions.first?.seconds == 9)
  #expect(times.current == "boot")
  #expect(LAVAActionTimes.seconds("01:02:03.5") == 3723.5)
  #expect(LAVAActionTimes.seconds("soon") == nil)
}
