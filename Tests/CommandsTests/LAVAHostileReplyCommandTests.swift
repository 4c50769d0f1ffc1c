import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// Issue 11, finding 7, as the commands see it: a JUnit report too large to download, and
/// reports masked as a stream rather than loaded whole.
@Suite struct LAVAHostileReplyCommandTests {
  @Test func finding7_junitTooLargeIsReportedInTheLogWithoutFailingTheJob() async throws {
    let fake = FakeLAVAServer(submitting: [51])
    fake.script(
      51,
      FakeLAVAServer.ScriptedJob(
        steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete, device: "qemu-01")],
        lines: targetLines(2) + [lavaJobPass],
        testCases: [LAVATestCase(suite: "0_smoke", name: "uname", result: "pass")],
        junitFailure: LAVAReplyTooLarge(
          request: "GET https://lava.example.com/api/v0.2/jobs/51/junit/", limit: 256 << 20)))
    let context = try lavaContext(fake, files: ["lava-job.yaml": "job_name: x\nactions: []\n"])

    let failure = await outcome {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
    }
    #expect(failure == nil)
    let text = context.recordingLog.plainText
    #expect(text.contains("no JUnit report for LAVA job 51: its results are too large (more than 256 MiB"))
    #expect(context.offeredArtifacts["51_junit.xml"] == nil)
    // Asked once: the same request would get the same reply.
    #expect(fake.requests.filter { $0 == "junit 51" }.count == 1)
  }

  /// `text` copied through the job's streaming masker (as a JUnit report is) in blocks of
  /// `blockSize` bytes.
  static func masked(_ bytes: Data, blockSize: Int) throws -> Data {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mask-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("junit.xml.download")
    let target = directory.appendingPathComponent("junit.xml")
    try bytes.write(to: source)
    let context = RecordingJobContext(variables: [
      JobVariable(key: "SECRET", value: "s3cr3t-value", masked: true)
    ])
    try MaskedCopy.copy(source, to: target, masker: context.makeMasker(), blockSize: blockSize)
    return try Data(contentsOf: target)
  }

  @Test(arguments: [1, 3, 7, 11, 64])
  func finding7_junitMaskingInBlocksMasksSecretsAcrossEveryBlockEdge(blockSize: Int) throws {
    let text = (0..<40).map { "<testcase name=\"c\($0)\">s3cr3t-value é \($0)</testcase>\n" }.joined()
    let result = try Self.masked(Data(text.utf8), blockSize: blockSize)
    #expect(
      String(decoding: result, as: UTF8.self)
        == text.replacingOccurrences(of: "s3cr3t-value", with: "[MASKED]"))
  }

  @Test(arguments: [5, 13, 50])
  func finding7_junitLineWithoutLineBreaksIsStillMaskedAcrossBlocks(blockSize: Int) throws {
    // One line, no newline at all: nothing to cut at, the masker carries what a secret may span.
    let text = (0..<200).map { "<p>word s3cr3t-value é\($0)</p>" }.joined(separator: " ")
    let result = try Self.masked(Data(text.utf8), blockSize: blockSize)
    #expect(
      String(decoding: result, as: UTF8.self)
        == text.replacingOccurrences(of: "s3cr3t-value", with: "[MASKED]"))
  }

  @Test func finding7_junitWithoutSecretsIsLeftByteForByte() throws {
    // Not UTF-8: a rewrite through String would replace these bytes.
    let bytes = Data("<a>".utf8) + Data([0xFF, 0xFE, 0x0A]) + Data("</a>\n".utf8)
    #expect(try Self.masked(bytes, blockSize: 2) == bytes)
  }
}
