import Foundation
import TestSupport
import Testing

@testable import Commands

/// `LAVALogFastPaths.mayContain` and `hasLineFeed` find bytes with libc's memchr: they must
/// answer exactly as a byte-by-byte search, wherever the needle lies (first bytes, last bytes,
/// after a near miss, across non-ASCII text).
@Suite struct LAVALogFastPathSearchTests {
  @Test func mayContainAgreesWithAByteSearchWhereverTheNeedleLies() {
    var generator = SplitMix64(seed: 0x5EA2C4)
    let pieces = [
      "section_", "section", "ection_", "_", "s", "<LAVA_SIGNAL_", "<LAVA_SIGNAL", "LAVA_SIGNAL_", "<", "é",
      "\n",
      "x", "start:", "✓", "\u{1B}[0K",
    ]
    for round in 0..<3000 {
      let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
        pieces.randomElement(using: &generator)!
      }.joined()
      let bytes = Array(text.utf8)
      #expect(
        LAVALogFastPaths.mayContain(text, "section_") == Self.contains(bytes, "section_"),
        "round \(round): \(text.debugDescription)")
      #expect(
        LAVALogFastPaths.mayContain(text, "<LAVA_SIGNAL_") == Self.contains(bytes, "<LAVA_SIGNAL_"),
        "round \(round): \(text.debugDescription)")
      #expect(LAVALogFastPaths.hasLineFeed(text) == bytes.contains(0x0A), "round \(round)")
    }
  }

  @Test func mayContainFindsANeedleThatStartsOrEndsTheText() {
    #expect(LAVALogFastPaths.mayContain("section_", "section_"))
    #expect(LAVALogFastPaths.mayContain("section_start:1", "section_"))
    #expect(LAVALogFastPaths.mayContain("a __ section_", "section_"))
    #expect(!LAVALogFastPaths.mayContain("_section", "section_"))
    #expect(!LAVALogFastPaths.mayContain("ection_", "section_"))
    #expect(!LAVALogFastPaths.mayContain("", "section_"))
    #expect(LAVALogFastPaths.mayContain("anything", "_") == false)
    #expect(LAVALogFastPaths.mayContain("_", "_"))
  }

  private static func contains(_ bytes: [UInt8], _ needle: String) -> Bool {
    let needle = Array(needle.utf8)
    guard bytes.count >= needle.count else { return false }
    return (0...(bytes.count - needle.count)).contains { bytes[$0..<$0 + needle.count].elementsEqual(needle) }
  }
}
