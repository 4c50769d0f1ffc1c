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
    // What malloc may hand out beyond the request is the most a table may hold beyond its
    // count: glibc rounds a block up to 16 bytes and may give a free block up to 31 bytes
    // larger rather than split it, so up to 46 bytes, never the half of the table that
    // appending leaves.
    func slack<T>(_ table: [T]) -> Int { (table.capacity - table.count) * MemoryLayout<T>.stride }
    #expect(slack(patterns.forms) <= 48)
    #expect(slack(patterns.unitForms) <= 48)
    #expect(slack(patterns.bytes) <= 48)
    #expect(slack(patterns.needles) <= 48)
    #expect(slack(patterns.firstByteNeedles) <= 48)
  }

  @Test func aFormAndAUnitTakeEightBytesEach() {
    #expect(MemoryLayout<MaskPatterns.Form>.stride == 8)
    #expect(MemoryLayout<MaskPatterns.UnitForms>.stride == 8)
  }
}
