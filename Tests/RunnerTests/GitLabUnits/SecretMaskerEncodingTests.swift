import RunnerCore
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
  /// Issue 11, findings 5 and 6: secrets next to combining marks, and escaped or encoded
  /// secrets, must not pass the masker.
  @Suite struct SecretMaskerEncodingTests {
    let secret = "tok/0123\"ab\\cd-é😀"

    /// Ways the secret reaches a log: raw, JSON- and YAML-escaped, percent-encoded.
    var forms: [String] {
      [
        secret,
        #"tok\/0123\"ab\\cd-é😀"#,
        #"tok/0123\"ab\\cd-\u00e9\ud83d\ude00"#,
        #"tok\/0123\"ab\\cd-\u00E9\uD83D\uDE00"#,
        #"\u0074\u006f\u006b\u002f\u0030\u0031\u0032\u0033\u0022\u0061\u0062\u005c\u0063\u0064\u002d\u00e9\ud83d\ude00"#,
        #"tok/0123\"ab\\cd-\xe9\U0001f600"#,
        "tok%2F0123%22ab%5Ccd-%C3%A9%F0%9F%98%80",
        "tok%2f0123%22ab%5ccd-%c3%a9%f0%9f%98%80",
        "%74%6F%6B%2F%30%31%32%33%22%61%62%5C%63%64%2D%C3%A9%F0%9F%98%80",
      ]
    }

    @Test func finding5_aSecretFollowedByACombiningMarkOrVariationSelectorIsMasked() {
      let masker = SecretMasker(secrets: ["tok-0123456789abcdef"])
      for mark in ["\u{301}", "\u{FE0F}", "\u{20E3}", "\u{200D}"] {
        let output = masker.mask("a tok-0123456789abcdef\(mark) b \(mark)tok-0123456789abcdef\(mark)")
        #expect(
          output == "a [MASKED]\(mark) b \(mark)[MASKED]\(mark)", "U+\(mark.unicodeScalars.first!.value)")
        #expect(!output.containsBytes(of: "tok-0123456789abcdef"))
      }
    }

    @Test func finding5_aSecretEndingInACombiningMarkIsMaskedAsBytes() {
      let masker = SecretMasker(secrets: ["cafe\u{301}-token"])
      #expect(masker.mask("x cafe\u{301}-token\u{FE0F} y") == "x [MASKED]\u{FE0F} y")
    }

    @Test func finding6_everyJSONYAMLAndPercentEncodedFormOfASecretIsMasked() {
      let masker = SecretMasker(secrets: [secret])
      for form in forms {
        let output = masker.mask("{\"detail\": \"bad token \(form) here\"}")
        #expect(output == "{\"detail\": \"bad token [MASKED] here\"}", "\(form)")
      }
    }

    @Test func finding6_aSpaceMayBeAPlusAndAQuoteTwoQuotes() {
      let masker = SecretMasker(secrets: ["pass word's-value"])
      #expect(masker.mask("q=pass+word%27s-value&x") == "q=[MASKED]&x")
      #expect(masker.mask("'pass word''s-value'") == "'[MASKED]'")
    }

    @Test func finding6_nearMissesOfAnEncodedSecretStayVisible() {
      let masker = SecretMasker(secrets: ["abc/def-123"])
      #expect(masker.mask("abc%2Gdef-123 abc\\/def-12 abc%2") == "abc%2Gdef-123 abc\\/def-12 abc%2")
    }

    @Test func finding6_escapedFormsSplitAtEveryByteBoundaryAreNeverReleased() {
      let masker = SecretMasker(secrets: [secret])
      for form in forms {
        let input = Array("line \(form)\u{301} end\n".utf8)
        var oneShot = masker
        let expected = oneShot.write(input) + oneShot.flush()
        #expect(String(decoding: expected, as: UTF8.self) == "line [MASKED]\u{301} end\n")
        for cut in 0...input.count {
          var streaming = masker
          let output = streaming.write(input[..<cut]) + streaming.write(input[cut...]) + streaming.flush()
          #expect(output == expected, "\(form) split at \(cut)")
        }
        for second in stride(from: 0, through: input.count, by: 3) {
          for first in 0...second {
            var streaming = masker
            let output =
              streaming.write(input[..<first]) + streaming.write(input[first..<second])
              + streaming.write(input[second...]) + streaming.flush()
            #expect(output == expected, "\(form) split at \(first), \(second)")
          }
        }
        var byteByByte = masker
        var output: [UInt8] = []
        for byte in input { output += byteByByte.write([byte]) }
        output += byteByByte.flush()
        #expect(output == expected, "\(form) one byte at a time")
      }
    }

    @Test func streamingEqualsOneShotForLogsBuiltFromEscapeFragments() {
      // Fragments of escapes and encodings, so that partial escapes end writes often.
      var generator = SplitMix64(seed: 0xE5CA9E)
      let vocabulary = [
        "a", "b", "/", "\\", "\\/", "\\u", "00", "61", "2f", "2F", "%", "%2", "%2f", "%61", "+", " ",
        "\\\\", "\"", "\\\"", "\u{301}", "é", "\\x", "\\U000000", "''", "'", "\n",
      ]
      let masker = SecretMasker(secrets: ["a/b", "a b\\", "é'\""])
      for round in 0..<800 {
        let input = Array(
          (0..<Int.random(in: 0...30, using: &generator)).map { _ in
            vocabulary.randomElement(using: &generator)!
          }.joined().utf8)
        var oneShot = masker
        let expected = oneShot.write(input) + oneShot.flush()
        for _ in 0..<4 {
          let output = masker.streamed(input, piecesUpTo: 7, using: &generator)
          #expect(output == expected, "round \(round): \(String(decoding: input, as: UTF8.self))")
        }
        #expect(!expected.containsBytes(of: "a/b"))
        #expect(!expected.containsBytes(of: "a%2fb") && !expected.containsBytes(of: "a\\/b"))
      }
    }

    @Test func anAddedSecretIsMaskedInWhatIsHeldBackAndAfterwards() {
      var masker = SecretMasker(secrets: ["other-secret"])
      let before = masker.write("one other-".utf8)
      #expect(String(decoding: before, as: UTF8.self) == "one ")
      masker.addMask("lava-token-1234")
      masker.addMask("")
      let after =
        masker.write("secret two lava-token-1234\u{301} three lava%2Dtoken-1234".utf8) + masker.flush()
      #expect(String(decoding: after, as: UTF8.self) == "[MASKED] two [MASKED]\u{301} three [MASKED]")
      #expect(masker.mask("lava-token-1234") == "[MASKED]")
    }
  }
}
