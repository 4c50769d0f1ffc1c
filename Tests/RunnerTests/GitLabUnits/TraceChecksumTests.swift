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
  @Suite struct TraceChecksumTests {
    @Test func matchesTheStandardCRC32CheckValue() {
      var checksum = TraceChecksum()
      checksum.update(Array("123456789".utf8))
      #expect(checksum.value == 0xCBF4_3926)
      #expect(checksum.formatted == "crc32:cbf43926")
      #expect(checksum.byteCount == 9)
    }

    @Test func emptyLogHasZeroChecksumPaddedToEightDigits() {
      let checksum = TraceChecksum()
      #expect(checksum.formatted == "crc32:00000000")
      #expect(checksum.byteCount == 0)
    }

    @Test func padsSmallValuesWithLeadingZeros() throws {
      // Search for an input whose CRC has a leading zero nibble rather than trusting a constant.
      var found: TraceChecksum?
      for seed in 0..<10_000 {
        var candidate = TraceChecksum()
        candidate.update(Array(String(seed).utf8))
        if candidate.value < 0x1000_0000 {
          found = candidate
          break
        }
      }
      let checksum = try #require(found)
      #expect(checksum.formatted.count == "crc32:".count + 8)
      #expect(checksum.formatted.hasPrefix("crc32:0"))
      #expect(UInt32(checksum.formatted.dropFirst(6), radix: 16) == checksum.value)
    }

    @Test func knownVectorsFromOtherImplementations() {
      let vectors: [(String, UInt32)] = [
        ("a", 0xE8B7_BE43),
        ("abc", 0x3524_41C2),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
      ]
      for (input, expected) in vectors {
        var checksum = TraceChecksum()
        checksum.update(Array(input.utf8))
        #expect(checksum.value == expected, "crc32(\(input))")
      }
    }

    @Test func updatingPieceByPieceEqualsUpdatingAtOnce() {
      var generator = SplitMix64(seed: 42)
      let log = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
      var whole = TraceChecksum()
      whole.update(log)
      var pieces = TraceChecksum()
      var start = 0
      while start < log.count {
        let end = min(log.count, start + Int.random(in: 0...700, using: &generator))
        pieces.update(log[start..<end])
        start = end
      }
      #expect(pieces == whole)
      #expect(pieces.byteCount == log.count)
    }

    @Test func acceptsNonContiguousSequences() {
      var fromSequence = TraceChecksum()
      fromSequence.update("123456789".utf8.lazy.map { $0 })
      #expect(fromSequence.formatted == "crc32:cbf43926")
    }
  }
}
