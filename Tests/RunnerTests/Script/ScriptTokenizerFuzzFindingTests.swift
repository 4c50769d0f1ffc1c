import Testing

@testable import JobEngine

/// Findings of the `script-tokenizer` fuzz target (Fuzz/README.md) in code another change is
/// rewriting: disabled until its owner takes them, each with the input that shows it.
@Suite struct ScriptTokenizerFuzzFindingTests {
  /// The tokenizer walks grapheme clusters: `'` followed by U+0301 is one Character, not a
  /// quote, so the line below is refused as an unbalanced quote instead of giving the word
  /// U+0301. A shell reads bytes and gives the word.
  @Test(.disabled("finding of the script-tokenizer fuzz target, for the tokenizer's owner"))
  func aQuoteBeforeACombiningMarkStillOpensAQuotedWord() throws {
    #expect(try ScriptTokenizer.tokenize("submit '\u{301}'") == ["submit", "\u{301}"])
  }
}
