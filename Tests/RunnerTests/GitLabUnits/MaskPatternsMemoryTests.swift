import Testing

@testable import RunnerCore

/// A runner keeps one masker per running job (issue 10: 1000 jobs waiting in one runner), so
/// the masker's tables must not carry the room to grow that appending leaves.
@Suite struct MaskPatternsMemoryTests {
  /// Secrets of uneven lengths, so that no table ends on a power of two by chance.
  static let secrets = [
    "glcbt-64_QzV8x2bHk1n9sT4mYwE7r", "lava-token-0123456789abcdefghij", "p@ss w'rd\\x",
    String(repeating: "s3cret-", count: 13), "é€𝄞-unicode-secret",
  ]

  @Test func patternTablesKeepNoRoomToGrow() {
    let patterns = MaskPatterns(
      secrets: Self.secrets, tokenPrefixes: SecretMasker.defaultTokenPrefixes.map { Array($0.utf8) },
      urlParameterStarts: [Array("?private_token=".utf8), Array("&private_token=".utf8)])
    #expect(patterns.forms.count > 500)
    // What malloc rounds a block up to is the most a table may hold beyond its count: glibc
    // hands out a free chunk up to 31 bytes larger than asked when the rest is too small to
    // split off, so up to 3 elements of 8 bytes, depending on what the process freed before.
    #expect(patterns.forms.capacity - patterns.forms.count <= 3)
    #expect(patterns.unitForms.capacity - patterns.unitForms.count <= 3)
    #expect(patterns.bytes.capacity - patterns.bytes.count <= 31)
    #expect(patterns.needles.capacity - patterns.needles.count <= 2)
    #expect(patterns.firstByteNeedles.capacity - patterns.firstByteNeedles.count <= 3)
  }

  @Test func aFormAndAUnitTakeEightBytesEach() {
    #expect(MemoryLayout<MaskPatterns.Form>.stride == 8)
    #expect(MemoryLayout<MaskPatterns.UnitForms>.stride == 8)
  }
}
