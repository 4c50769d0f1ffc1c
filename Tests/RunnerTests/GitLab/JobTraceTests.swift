import Foundation
import RunnerCore
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct JobTraceTests {
  func makeTrace(secrets: [String] = [], backlogLimit: Int64 = 16 << 20) throws -> JobTrace {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID()).log")
    return try JobTrace(spoolURL: url, masker: SecretMasker(secrets: secrets), backlogLimit: backlogLimit)
  }

  @Test func aSecretSplitAcrossWritesIsMaskedBeforeItIsSpooled() async throws {
    let trace = try makeTrace(secrets: ["hunter2-hunter2"])
    await trace.write("password: hunter2-")
    #expect(String(decoding: try trace.contents(), as: UTF8.self) == "password: ")
    await trace.write("hunter2 ok\n")
    trace.finish()
    #expect(String(decoding: try trace.contents(), as: UTF8.self) == "password: [MASKED] ok\n")
  }

  @Test func bytesWrittenAsUTF8AreMaskedLikeTextEvenWhenASecretSpansATextAndBytes() async throws {
    let trace = try makeTrace(secrets: ["hunter2-hunter2"])
    await trace.write(utf8: Array("tâche: hunter2-".utf8))
    await trace.write("hunter2 ok\n")
    await trace.write(utf8: Array("again hunter2-hunter2\n".utf8))
    trace.finish()
    #expect(
      String(decoding: try trace.contents(), as: UTF8.self) == "tâche: [MASKED] ok\nagain [MASKED]\n")
  }

  @Test func chunksStartWhereGitLabSaysItsCopyEnds() async throws {
    let trace = try makeTrace()
    await trace.write("0123456789")
    let first = try #require(trace.nextChunk(limit: 4))
    #expect(first.offset == 0 && first.bytes == Data("0123".utf8))
    trace.gitLabHolds(4)
    let second = try #require(trace.nextChunk(limit: 100))
    #expect(second.offset == 4 && second.bytes == Data("456789".utf8))
    // GitLab lost part of what it acknowledged (416 with a smaller Range): send from there.
    trace.gitLabHolds(2)
    #expect(trace.nextChunk(limit: 3)?.bytes == Data("234".utf8))
    trace.gitLabHolds(10)
    #expect(trace.nextChunk(limit: 100) == nil)
    #expect(!trace.isFullySent)
    trace.finish()
    #expect(trace.isFullySent)
  }

  @Test func theFinalChecksumAndSizeCoverExactlyTheMaskedBytes() async throws {
    let trace = try makeTrace(secrets: ["s3cret"])
    await trace.write("a s3cret b\n")
    let (checksum, size) = trace.finish()
    let expected = Data("a [MASKED] b\n".utf8)
    #expect(size == Int64(expected.count))
    var crc = TraceChecksum()
    crc.update(expected)
    #expect(checksum == crc.formatted)
  }

  @Test func writersWaitWhileTheBacklogIsOverItsLimitAndGoOnWhenGitLabTakesIt() async throws {
    let trace = try makeTrace(backlogLimit: 8)
    await trace.write("12345678")
    let done = Latch<Void>()
    let writer = Task {
      await trace.write("9abcdef")
      done.set(())
    }
    try await Task.sleep(for: .milliseconds(100))
    #expect(trace.length == 15)
    #expect(done.value == nil, "the writer went on with 15 bytes pending over a limit of 8")
    trace.gitLabHolds(15)
    await writer.value
    #expect(done.value != nil)
    await trace.write("more")
    #expect(trace.pending == 4)
  }

  @Test func aResendAfter412StartsAgainFromTheFirstByte() async throws {
    let trace = try makeTrace()
    await trace.write("whole log")
    trace.finish()
    trace.gitLabHolds(9)
    #expect(trace.isFullySent)
    trace.resendFromStart()
    #expect(trace.nextChunk(limit: 100)?.offset == 0)
  }
}
