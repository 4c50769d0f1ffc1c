import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private func submit(_ lines: [LAVALogLine], limit: String?) async throws -> (
  RecordingJobContext, CommandFailure?
) {
  let fake = FakeLAVAServer(submitting: [98], pageSize: 200)
  fake.script(
    98, .init(steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete)], lines: lines))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"],
    variables: limit.map { [JobVariable(key: "LAVA_LOG_LIMIT", value: $0)] } ?? [])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return (context, failure)
}

@Test func pastTheLogLimitOnlyWarningsErrorsResultsAndSectionsReachTheJobLog() async throws {
  let lines = try LAVALogFixture.lines("qemu-fail.log.yaml")
  let (context, _) = try await submit(lines, limit: "8k")
  let log = context.recordingLog.plainText
  #expect(log.contains("LAVA_LOG_LIMIT: the job log has 8 KiB of LAVA log"))
  #expect(log.contains("Every line is in 98_log.yaml (artifacts)."))
  let after = log.components(separatedBy: "LAVA_LOG_LIMIT: the job log has")[1]
  #expect(!after.contains(" tgt  "), "no target line past the limit")
  #expect(after.contains("res  ✘ 0_smoke/must-fail: fail"))
  #expect(after.contains("✘ test case 0_smoke/must-fail failed"), "failures are still shown")
  let rendered = context.renderedLAVALines.joined(separator: "\n").utf8.count
  #expect(rendered < 8192 + 4096, "the limit plus results and warnings")
  #expect(try context.artifactText("98_log.yaml") == lines.map { $0.raw + "\n" }.joined())
  let (whole, _) = try await submit(lines, limit: nil)
  #expect(!whole.recordingLog.plainText.contains("LAVA_LOG_LIMIT"), "16 MiB by default")
}

@Test(arguments: ["lots", "0", "-1", "16 furlongs", "99999999999999999999", "1.5M"])
func aBadLogLimitFailsBeforeSubmission(value: String) async throws {
  let fake = FakeLAVAServer(submitting: [99])
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"], variables: [JobVariable(key: "LAVA_LOG_LIMIT", value: value)])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure?.failureReason == .scriptFailure)
  #expect(
    failure?.message.contains("LAVA_LOG_LIMIT is '\(value)'; expected a size such as 16MiB, 500k") == true)
  #expect(fake.requests.isEmpty)
}

@Test func logLimitsAreReadLikeGitLabSizes() {
  #expect(LAVALogVolume.bytes("16MiB") == 16 << 20)
  #expect(LAVALogVolume.bytes("500k") == 500 << 10)
  #expect(LAVALogVolume.bytes("1 G") == 1 << 30)
  #expect(LAVALogVolume.bytes("4096") == 4096)
  #expect(LAVALogVolume.bytes("2MB") == 2 << 20)
}

@Test func aLineRepeatedManyTimesIsShownThreeTimesAndCounted() async throws {
  let lines: [LAVALogLine] =
    [.lava("info", "start: 3 lava-test-retry (timeout 00:02:00) [common]")]
    + Array(repeating: .lava("target", "ERROR: mmc0: timeout"), count: 500)
    + [.lava("target", "recovered")] + Array(repeating: .lava("target", ""), count: 2)
    + [.lava("info", "end: 3 lava-test-retry (duration 00:00:01) [common]")]
  let (context, _) = try await submit(lines, limit: nil)
  let shown = context.recordingLog.plainText.split(separator: "\n", omittingEmptySubsequences: false)
  #expect(shown.filter { $0.hasSuffix("tgt  ERROR: mmc0: timeout") }.count == 3)
  #expect(shown.contains { $0.hasSuffix("⟳    the line above, 497 more times") })
  #expect(shown.contains { $0.hasSuffix("tgt  recovered") })
  #expect(shown.filter { $0.hasSuffix("tgt  ") }.count == 2, "two blank lines are not worth a count")
  #expect(try context.artifactText("98_log.yaml") == lines.map { $0.raw + "\n" }.joined())
}
