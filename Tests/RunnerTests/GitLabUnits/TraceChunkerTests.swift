import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

extension GitLabUnits {
  @Suite struct TraceChunkerTests {
    private func bytes(_ count: Int, startingAt start: Int = 0) -> [UInt8] {
      (start..<(start + count)).map { UInt8(truncatingIfNeeded: $0) }
    }

    @Test func nothingToSendWhenEmpty() {
      let chunker = TraceChunker()
      #expect(chunker.nextChunk() == nil)
      #expect(chunker.isFullyAcknowledged)
    }

    @Test func firstChunkCoversTheLogWithInclusiveContentRange() throws {
      var chunker = TraceChunker()
      chunker.append(bytes(10))
      let chunk = try #require(chunker.nextChunk())
      #expect(chunk.offset == 0)
      #expect(chunk.bytes == bytes(10))
      #expect(chunk.contentRange == "0-9")
      #expect(chunk.endOffset == 10)
    }

    @Test func chunksAreCappedAtTheMaximumSize() throws {
      var chunker = TraceChunker()
      chunker.append(bytes(TraceChunker.defaultMaximumChunkSize + 5))
      let first = try #require(chunker.nextChunk())
      #expect(first.bytes.count == 1024 * 1024)
      #expect(first.contentRange == "0-1048575")
      try chunker.apply(.accepted(remoteLength: 1_048_576), to: first)
      let second = try #require(chunker.nextChunk())
      #expect(second.contentRange == "1048576-1048580")
      #expect(second.bytes == Array(bytes(TraceChunker.defaultMaximumChunkSize + 5).suffix(5)))
    }

    @Test func acceptedReplyDropsAcknowledgedBytesAndNextChunkContinues() throws {
      var chunker = TraceChunker(maximumChunkSize: 4)
      chunker.append(bytes(6))
      let first = try #require(chunker.nextChunk())
      let effect = try chunker.apply(.accepted(remoteLength: 4), to: first)
      #expect(effect == .acknowledged(bytes: 4))
      #expect(chunker.acknowledgedLength == 4)
      #expect(chunker.unacknowledged == bytes(2, startingAt: 4))
      let second = try #require(chunker.nextChunk())
      #expect(second.contentRange == "4-5")
      try chunker.apply(.accepted(remoteLength: 6), to: second)
      #expect(chunker.nextChunk() == nil)
      #expect(chunker.isFullyAcknowledged)
      #expect(chunker.totalLength == 6)
    }

    @Test func acceptedReplyWithoutRangeAcknowledgesTheWholeChunk() throws {
      var chunker = TraceChunker(maximumChunkSize: 3)
      chunker.append(bytes(5))
      let chunk = try #require(chunker.nextChunk())
      try chunker.apply(.accepted(remoteLength: nil), to: chunk)
      #expect(chunker.acknowledgedLength == 3)
      #expect(chunker.nextChunk()?.contentRange == "3-4")
    }

    @Test func acceptedReplyHoldingFewerBytesResendsTheRest() throws {
      var chunker = TraceChunker()
      chunker.append(bytes(10))
      let chunk = try #require(chunker.nextChunk())
      try chunker.apply(.accepted(remoteLength: 7), to: chunk)
      let next = try #require(chunker.nextChunk())
      #expect(next.contentRange == "7-9")
      #expect(next.bytes == bytes(3, startingAt: 7))
    }

    @Test func bytesAppendedWhileAChunkIsInFlightAreSentNext() throws {
      var chunker = TraceChunker()
      chunker.append(bytes(3))
      let chunk = try #require(chunker.nextChunk())
      chunker.append(bytes(2, startingAt: 3))
      try chunker.apply(.accepted(remoteLength: 3), to: chunk)
      let next = try #require(chunker.nextChunk())
      #expect(next.contentRange == "3-4")
      #expect(next.bytes == bytes(2, startingAt: 3))
    }

    @Test func failedRequestKeepsEverythingAndResendsTheSameChunk() throws {
      var chunker = TraceChunker(maximumChunkSize: 4)
      chunker.append(bytes(6))
      let chunk = try #require(chunker.nextChunk())
      let effect = try chunker.apply(.failed, to: chunk)
      #expect(effect == .unchanged)
      #expect(chunker.acknowledgedLength == 0)
      #expect(chunker.nextChunk() == chunk)
    }

    @Test func lostAcceptedReplyIsRecoveredBy416WithoutSendingTwice() throws {
      // GitLab applies chunk 0-3 but the reply is lost: the runner sees a failure and resends 0-3;
      // GitLab answers 416 with the length it really holds, and the runner moves on from there.
      var chunker = TraceChunker(maximumChunkSize: 4)
      chunker.append(bytes(10))
      var remote: [UInt8] = []
      let first = try #require(chunker.nextChunk())
      remote += first.bytes  // applied by GitLab
      try chunker.apply(.failed, to: first)  // reply lost
      let retry = try #require(chunker.nextChunk())
      #expect(retry == first)
      let effect = try chunker.apply(.rangeNotSatisfiable(remoteLength: remote.count), to: retry)
      #expect(effect == .acknowledged(bytes: 4))
      while let chunk = chunker.nextChunk() {
        #expect(chunk.offset == remote.count, "each chunk starts where GitLab's log ends")
        remote += chunk.bytes
        try chunker.apply(.accepted(remoteLength: remote.count), to: chunk)
      }
      #expect(remote == bytes(10))
    }

    @Test func rangeNotSatisfiableAtTheAcknowledgedLengthResendsTheSameBytes() throws {
      var chunker = TraceChunker(maximumChunkSize: 4)
      chunker.append(bytes(6))
      let first = try #require(chunker.nextChunk())
      try chunker.apply(.accepted(remoteLength: 4), to: first)
      let second = try #require(chunker.nextChunk())
      let effect = try chunker.apply(.rangeNotSatisfiable(remoteLength: 4), to: second)
      #expect(effect == .unchanged)
      #expect(chunker.nextChunk() == second)
    }

    @Test func rangeNotSatisfiableWithoutRangeIsAnError() throws {
      var chunker = TraceChunker()
      chunker.append(bytes(3))
      let chunk = try #require(chunker.nextChunk())
      #expect(throws: TraceChunkerError.missingRemoteRange) {
        try chunker.apply(.rangeNotSatisfiable(remoteLength: nil), to: chunk)
      }
      #expect(chunker.nextChunk() == chunk, "nothing is dropped on an unusable reply")
    }

    @Test func remoteBehindWhatItAcknowledgedIsReportedNotPapered() throws {
      var chunker = TraceChunker(maximumChunkSize: 4)
      chunker.append(bytes(8))
      let first = try #require(chunker.nextChunk())
      try chunker.apply(.accepted(remoteLength: 4), to: first)
      let second = try #require(chunker.nextChunk())
      #expect(throws: TraceChunkerError.remoteBehindAcknowledged(remote: 2, acknowledged: 4)) {
        try chunker.apply(.rangeNotSatisfiable(remoteLength: 2), to: second)
      }
      #expect(chunker.acknowledgedLength == 4)
      #expect(chunker.nextChunk() == second)
    }

    @Test func remoteAheadOfTheLogIsReported() throws {
      var chunker = TraceChunker()
      chunker.append(bytes(3))
      let chunk = try #require(chunker.nextChunk())
      #expect(throws: TraceChunkerError.remoteAheadOfLog(remote: 9, logLength: 3)) {
        try chunker.apply(.accepted(remoteLength: 9), to: chunk)
      }
      #expect(chunker.acknowledgedLength == 0)
    }

    @Test func parsesTheRangeHeaderAsALength() {
      #expect(TraceChunker.parseRemoteLength("0-42") == 42)
      #expect(TraceChunker.parseRemoteLength(" 0-0 ") == 0)
      #expect(TraceChunker.parseRemoteLength("0-") == nil)
      #expect(TraceChunker.parseRemoteLength("1-42") == nil)
      #expect(TraceChunker.parseRemoteLength("bytes 0-42") == nil)
      #expect(TraceChunker.parseRemoteLength("0--1") == nil)
      #expect(TraceChunker.parseRemoteLength("") == nil)
    }

    @Test func randomizedRepliesNeverLoseOrDuplicateBytes() throws {
      // A simulated GitLab applies or drops each request, and loses some replies; whatever happens
      // the bytes GitLab ends with are exactly the log, in order.
      var generator = SplitMix64(seed: 7)
      for _ in 0..<200 {
        let log = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
          UInt8.random(in: 0...255, using: &generator)
        }
        var chunker = TraceChunker(maximumChunkSize: Int.random(in: 1...40, using: &generator))
        var remote: [UInt8] = []
        var fed = 0
        var steps = 0
        while (fed < log.count || !chunker.isFullyAcknowledged) && steps < 10_000 {
          steps += 1
          if fed < log.count {
            let end = min(log.count, fed + Int.random(in: 0...30, using: &generator))
            chunker.append(log[fed..<end])
            fed = end
          }
          guard let chunk = chunker.nextChunk() else { continue }
          let reply: TraceReply
          if chunk.offset != remote.count {
            reply = .rangeNotSatisfiable(remoteLength: remote.count)
          } else if Bool.random(using: &generator) {
            remote += chunk.bytes
            reply =
              Int.random(in: 0..<4, using: &generator) == 0 ? .failed : .accepted(remoteLength: remote.count)
          } else {
            reply = .failed
          }
          try chunker.apply(reply, to: chunk)
        }
        #expect(remote == log)
        #expect(chunker.acknowledgedLength == log.count)
      }
    }
  }
}
