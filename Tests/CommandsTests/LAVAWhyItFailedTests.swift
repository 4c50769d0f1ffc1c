import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private func run(
  _ lines: [LAVALogLine], health: LAVAJobHealth, tests: [LAVATestCase] = [], comment: String? = nil,
  monitor: Bool = false
) async throws -> (RecordingJobContext, CommandFailure?) {
  let fake = FakeLAVAServer(submitting: [97], pageSize: 100)
  fake.script(
    97,
    .init(
      steps: [.init(.running, device: "qemu-01"), .init(.finished, health, device: "qemu-01")], lines: lines,
      testCases: tests, failureComment: comment))
  // One attempt: retries have tests of their own (LAVARetryTests).
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n", "jobs.json": "{\"jobids\": [97]}"],
    variables: [JobVariable(key: "LAVA_RETRIES", value: "0")])
  let failure = await outcome {
    if monitor {
      try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
    } else {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
    }
  }
  expectBalancedSections(context.recordingLog.text)
  return (context, failure)
}

/// The open "why it failed" section's lines, colours removed; nil when there is none.
private func why(_ context: RecordingJobContext) -> [String]? {
  let log = context.recordingLog.text
  guard let header = GitLabSections.headers(in: log).first(where: { $0.header.hasPrefix("✘ Why LAVA job") }),
    !header.collapsed,
    let start = log.range(of: ":\(header.name)\r"),
    let end = log.range(of: "section_end:", range: start.upperBound..<log.endIndex)
  else { return nil }
  let text = String(log[start.upperBound..<end.lowerBound]).replacingOccurrences(
    of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
  return text.split(separator: "\n").map(String.init)
}

@Test func anInfrastructureFailureSaysWhichActionAndWhatTheDeviceLastPrinted() async throws {
  let lines: [LAVALogLine] =
    [.lava("info", "start: 1 tftp-deploy (timeout 00:02:00) [common]")]
    + targetLines(40)
    + [
      .lava("error", "tftp: timeout"),
      lavaJobFail("Infrastructure", "tftp timed out\nafter 3 tries"),
      .lava("target", "poweroff"),
    ]
  let (context, failure) = try await run(lines, health: .incomplete, comment: "board rack 3 unplugged")
  #expect(failure?.failureReason == .runnerSystemFailure)
  let block = try #require(why(context))
  #expect(block.first == "✘ Why LAVA job 97 failed")
  #expect(block.contains("LAVA job:         97 https://lava.example.com/scheduler/job/97 on qemu-01 (qemu)"))
  #expect(block.contains("health:           Incomplete"))
  #expect(block.contains("error_type:       Infrastructure"))
  #expect(block.contains("error_msg:        tftp timed out"))
  #expect(block.contains("                  after 3 tries"))
  #expect(block.contains("failure_comment:  board rack 3 unplugged"))
  #expect(block.contains("failed in action: 1 tftp-deploy"))
  let target = block.drop { !$0.hasPrefix("last 30 target lines") }.dropFirst()
  #expect(Array(target) == (11...40).map { "  line \($0)" }, "the 30 lines before the failure, not poweroff")
}

@Test func failedTestCasesAreListedTwentyAtMostThenCounted() async throws {
  let tests = (1...25).map { LAVATestCase(suite: "0_smoke", name: "case-\($0)", result: "fail") }
  let (context, failure) = try await run(
    try LAVALogFixture.lines("qemu-fail.log.yaml"), health: .complete, tests: tests)
  #expect(failure?.failureReason == .scriptFailure)
  let block = try #require(why(context))
  #expect(block.contains("failed test cases (25):"))
  #expect(block.filter { $0.hasPrefix("  ✘ 0_smoke/case-") }.count == 20)
  #expect(block.contains("  and 5 more"))
  #expect(!block.contains { $0.hasPrefix("failed in action") }, "every action of the real job passed")
  #expect(block.contains("  poweroff"), "the real job's last target lines")
}

@Test func aJobDefinitionErrorQuotesLAVAsMessageShortened() async throws {
  let (context, failure) = try await run(
    try LAVALogFixture.lines("qemu-bad-boot.log.yaml"), health: .incomplete)
  #expect(failure?.failureReason == .scriptFailure)
  let block = try #require(why(context))
  #expect(block.contains("error_type:       Job"))
  #expect(
    block.contains(
      "error_msg:        None of the boot strategies accepted your boot parameters, reasons given:"))
  #expect(block.contains { $0.hasPrefix("                  (") && $0.hasSuffix("more lines in the log)") })
  #expect(block.count < 20)
}

@Test func monitorFileExplainsAFailedJobFromItsSavedLog() async throws {
  let (context, failure) = try await run(
    try LAVALogFixture.lines("qemu-long-canceled.log.yaml"), health: .canceled, monitor: true)
  #expect(failure?.failureReason == .scriptFailure)
  let block = try #require(why(context))
  #expect(block.contains("health:           Canceled"))
  #expect(block.contains("error_type:       Canceled"))
  #expect(block.contains("failed in action: 3 lava-test-retry"))
  #expect(block.contains("  lava-runner-tick 9"))
}

@Test func aPassingJobHasNoWhyItFailedBlock() async throws {
  let (context, failure) = try await run(try LAVALogFixture.lines("qemu-pass.log.yaml"), health: .complete)
  #expect(failure == nil)
  #expect(why(context) == nil)
  #expect(!context.recordingLog.plainText.contains("Why LAVA job"))
}
