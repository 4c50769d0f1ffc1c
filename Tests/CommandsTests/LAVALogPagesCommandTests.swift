import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// `submit` follows a log far behind one page at a time: each page is in the job log and in
/// `<id>_log.yaml` before the next is asked for, in one write, and a request failing after some
/// pages of a call goes on from the last page written.
private func follow(_ lines: [LAVALogLine], pageSize: Int, pagesPerCall: Int, failingFrom: [Int] = [])
  async throws -> (RecordingJobContext, FakeLAVAServer, CommandFailure?)
{
  let fake = FakeLAVAServer(submitting: [61], pageSize: pageSize)
  fake.handOver(pagesPerLogCall: pagesPerCall)
  fake.script(
    61, .init(steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete)], lines: lines))
  let flaky = FakeLAVAServer.FakeError(.runnerSystemFailure, "502 Bad Gateway")
  for start in failingFrom { fake.failLog(of: 61, from: start, with: [flaky]) }
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return (context, fake, failure)
}

@Test func aPageOfLAVALogLinesReachesTheJobLogInOneWrite() async throws {
  let lines = targetLines(400)
  let (context, fake, failure) = try await follow(lines, pageSize: 100, pagesPerCall: 4)
  #expect(failure == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  #expect(context.renderedLAVALines == (1...400).map { "01:38:32 tgt  line \($0)" })
  // Four pages, and a few lines of state and summary: not one write per LAVA line.
  #expect(context.recordingLog.writeCount < 40, "\(context.recordingLog.writeCount) writes")
}

@Test func aRequestFailingAfterSomePagesOfACallLosesAndRepeatsNoLine() async throws {
  let lines = targetLines(50)
  let (context, fake, failure) = try await follow(
    lines, pageSize: 5, pagesPerCall: 4, failingFrom: [10, 15, 35])
  #expect(failure == nil)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  #expect(context.renderedLAVALines == (1...50).map { "01:38:32 tgt  line \($0)" })
  #expect(try context.artifactText("61_log.yaml") == lines.map { $0.raw + "\n" }.joined())
}
