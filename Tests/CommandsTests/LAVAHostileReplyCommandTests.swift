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

  static func masked(_ text: String, blockSize: Int, maxCarry: Int) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("mask-\(UUID()).xml")
    defer { try? FileManager.default.removeItem(at: file) }
    try Data(text.utf8).write(to: file)
    try FileMasking.maskInPlace(
      file, mask: { $0.replacingOccurrences(of: "s3cr3t-value", with: "[MASKED]") }, blockSize: blockSize,
      maxCarry: maxCarry)
    return try String(contentsOf: file, encoding: .utf8)
  }

  @Test(arguments: [1, 3, 7, 11, 64])
  func finding7_junitMaskingInBlocksMasksSecretsAcrossEveryBlockEdge(blockSize: Int) throws {
    let text = (0..<40).map { "<testcase name=\"c\($0)\">s3cr3t-value é \($0)</testcase>\n" }.joined()
    let result = try Self.masked(text, blockSize: blockSize, maxCarry: 1 << 20)
    #expect(result == text.replacingOccurrences(of: "s3cr3t-value", with: "[MASKED]"))
  }

  @Test(arguments: [5, 13, 50])
  func finding7_junitLineLongerThanTheCarryIsCutBetweenWordsAndStillMasked(blockSize: Int) throws {
    // One line, no newline at all: the carry must be cut, but not inside a secret.
    let text = (0..<200).map { "<p>word s3cr3t-value é\($0)</p>" }.joined(separator: " ")
    let result = try Self.masked(text, blockSize: blockSize, maxCarry: 64)
    #expect(result == text.replacingOccurrences(of: "s3cr3t-value", with: "[MASKED]"))
  }

  @Test func finding7_junitWithoutSecretsIsLeftByteForByte() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("mask-\(UUID()).xml")
    defer { try? FileManager.default.removeItem(at: file) }
    // Not UTF-8: a rewrite through String would replace these bytes.
    let bytes = Data("<a>".utf8) + Data([0xFF, 0xFE, 0x0A]) + Data("</a>\n".utf8)
    try bytes.write(to: file)
    try FileMasking.maskInPlace(file, mask: { $0 }, blockSize: 2, maxCarry: 4)
    #expect(try Data(contentsOf: file) == bytes)
  }
}
