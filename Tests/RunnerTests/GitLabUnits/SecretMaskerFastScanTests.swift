import RunnerCore
import TestSupport
import Testing

@testable import RunnerCore

extension GitLabUnits {
  /// The masker skips log bytes two at a time (a byte that may start a needle is dropped unless
  /// the next byte may follow it) and scans a write where it lies when nothing is held back.
  /// Both must change nothing in the output: these compare it with the byte-by-byte scan it
  /// replaced (Reference/ReferenceMaskScan.swift) and pin the edges the fast path creates.
  @Suite struct SecretMaskerFastScanTests {
    /// Secrets whose first characters have every kind of form: escapes, percent-encoding,
    /// `+` for a space, `''`, surrogate pairs, one-character secrets.
    static let secrets = [
      "\"quoted\"", "\\back", " space", "'apos", "%pct", "é-accent", "😀emoji", "x", "ab", "a/b",
      "s3cr3t-value",
    ]

    private func masked(_ masker: SecretMasker, _ pieces: [[UInt8]]) -> [UInt8] {
      var masker = masker
      return pieces.flatMap { masker.write($0) } + masker.flush()
    }

    private func referenceMasked(_ pieces: [[UInt8]], secrets: [String]) -> [UInt8] {
      var masker = ReferenceSecretMasker(secrets: secrets)
      return pieces.flatMap { masker.write($0) } + masker.flush()
    }

    @Test func everyFormOfTheFirstTwoCharactersOfASecretIsStillFound() {
      // The skip table is built from the forms of a needle's first two units: a form it missed
      // would leave that spelling of the secret visible.
      for secret in Self.secrets {
        let masker = SecretMasker(secrets: [secret])
        let scalars = Array(secret.unicodeScalars)
        let firstForms = MaskForms.forms(of: scalars[0]).flatMap { Self.cases(of: $0) }
        let secondForms =
          scalars.count > 1 ? MaskForms.forms(of: scalars[1]).flatMap { Self.cases(of: $0) } : [[]]
        let rest = Array(String(String.UnicodeScalarView(scalars.dropFirst(2))).utf8)
        for first in firstForms {
          for second in secondForms {
            let occurrence = first + second + rest
            let input = Array("<".utf8) + occurrence + Array(">".utf8)
            let text = String(decoding: input, as: UTF8.self)
            #expect(masker.mask(text) == "<[MASKED]>", "\(secret) written \(text)")
          }
        }
      }
    }

    @Test func aSecretStraddlingTheInPlaceScanAndTheHeldBackBytesIsMaskedAtEverySplit() {
      // A write scanned in place keeps the start of a secret it ends with; the next write is
      // then scanned behind those held-back bytes, and the one after in place again.
      let masker = SecretMasker(secrets: ["s3cr3t-value", "\\back"])
      let input = Array("ok s3cr3t-value, \\u005cback and s3%63r3t-value glpat-abc ?private_token=x y".utf8)
      let expected = Array("ok [MASKED], [MASKED] and [MASKED] glpat-[MASKED] ?private_token=[MASKED] y".utf8)
      for first in 0...input.count {
        for second in stride(from: first, through: input.count, by: 3) {
          let pieces = [Array(input[..<first]), Array(input[first..<second]), Array(input[second...])]
          #expect(masked(masker, pieces) == expected, "split at \(first) and \(second)")
        }
      }
    }

    @Test func aPrefixOfASecretEndingAWriteIsHeldBackThenMaskedOrReleased() {
      var masker = SecretMasker(secrets: ["s3cr3t-value"])
      // The last byte has no next byte to rule it out: it is held back whatever it is followed by.
      #expect(String(decoding: masker.write("line s".utf8), as: UTF8.self) == "line ")
      #expect(masker.heldBackCount == 1)
      #expect(String(decoding: masker.write("3cr3t-value\n".utf8), as: UTF8.self) == "[MASKED]\n")
      #expect(String(decoding: masker.write("so \\".utf8), as: UTF8.self) == "so ")
      #expect(masker.heldBackCount == 1)
      #expect(String(decoding: masker.write("u0073".utf8), as: UTF8.self) == "")
      #expect(String(decoding: masker.write("3cr3t-value %".utf8), as: UTF8.self) == "[MASKED] ")
      #expect(String(decoding: masker.write("20 sx".utf8), as: UTF8.self) == "%20 sx")
      #expect(masker.heldBackCount == 0)
      #expect(String(decoding: masker.write("g".utf8) + masker.flush(), as: UTF8.self) == "g")
    }

    @Test func fastScanMasksExactlyAsTheByteByByteScanOnRandomLogs() {
      // Fragments of secrets, escapes, token prefixes and URL parameters, in random writes.
      var generator = SplitMix64(seed: 0xFA575CA)
      let vocabulary = [
        "s3", "cr3t", "-value", "s", "\\", "\\u", "0073", "00", "5c", "5C", "%", "%2", "%2f", "%73", "+", " ",
        "\\\\", "\"", "\\\"", "é", "\\x", "\\U000000", "''", "'", "\n", "g", "gl", "glpat-", "glrt-",
        "GR1348941",
        "abc", "?", "&", "private_token=", "PRIVATE_Token=", "x-amz-signature=", "=", "😀", "\\ud83d",
        "\\ude00",
        "a/b", "a", "b", "/", "\\/", "ba", "ck", "x",
      ]
      for round in 0..<1500 {
        let secrets = Array(
          Self.secrets.shuffled(using: &generator).prefix(Int.random(in: 0...4, using: &generator)))
        let masker = SecretMasker(secrets: secrets)
        let input = Array(
          (0..<Int.random(in: 0...40, using: &generator)).map { _ in
            vocabulary.randomElement(using: &generator)!
          }.joined().utf8)
        var pieces: [[UInt8]] = []
        var start = 0
        while start < input.count {
          let end = min(input.count, start + Int.random(in: 0...9, using: &generator))
          pieces.append(Array(input[start..<end]))
          start = end
        }
        let expected = referenceMasked([input], secrets: secrets)
        #expect(
          masked(masker, [input]) == expected,
          "round \(round), \(secrets): \(String(decoding: input, as: UTF8.self))")
        #expect(
          masked(masker, pieces) == referenceMasked(pieces, secrets: secrets),
          "round \(round), \(secrets) in \(pieces.count) writes")
      }
    }

    /// A form as written, and with its hex digits in the other case where it has any.
    private static func cases(of form: MaskForms.Form) -> [[UInt8]] {
      guard case .hexDigits = form.folding else { return [form.bytes] }
      let upper = form.bytes.map { (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) ? $0 - 32 : $0 }
      return upper == form.bytes ? [form.bytes] : [form.bytes, upper]
    }
  }
}
