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
  @Suite struct SecretMaskerTests {
    private func streamed(_ masker: SecretMasker, _ pieces: [String]) -> String {
      var masker = masker
      var output: [UInt8] = []
      for piece in pieces { output += masker.write(piece.utf8) }
      output += masker.flush()
      return String(decoding: output, as: UTF8.self)
    }

    @Test func replacesEverySecretOccurrence() {
      let masker = SecretMasker(secrets: ["s3cr3t-value", "hunter22hunter"])
      #expect(
        masker.mask("a s3cr3t-value b hunter22hunter c s3cr3t-value")
          == "a [MASKED] b [MASKED] c [MASKED]")
    }

    @Test func agreesWithTheOfficialRunnersVariableMaskingExample() {
      // The input and expected output of the official runner's TestVariablesMasking.
      let input =
        "This is the secret message cont@ining :secret duplicateValues ffixx prefix prefix_mask "
        + "suffix mask_suffix middle dd"
      let secrets = [
        "is", "duplicateValue", "duplicateValue", ":secret", "cont@ining", "fix", "prefix",
        "prefix_mask", "suffix", "mask_suffix", "dd", "middle", "",
      ]
      let expected =
        "Th[MASKED] [MASKED] the secret message [MASKED] [MASKED] [MASKED]s f[MASKED]x "
        + "[MASKED] [MASKED] [MASKED] [MASKED] [MASKED] [MASKED]"
      #expect(SecretMasker(secrets: secrets).mask(input) == expected)
    }

    @Test func keepsTokenPrefixAndMasksTheTokenUpToTheFirstNonTokenCharacter() {
      let masker = SecretMasker(secrets: [])
      #expect(
        masker.mask("push with glpat-Ab_9.x=y-Z then done")
          == "push with glpat-[MASKED] then done")
      #expect(masker.mask("url?t=glrt-abc&x=1") == "url?t=glrt-[MASKED]&x=1")
      #expect(masker.mask("GR1348941xyz\n") == "GR1348941[MASKED]\n")
    }

    @Test func masksATokenThatEndsTheLog() {
      #expect(SecretMasker(secrets: []).mask("token: glcbt-abc123") == "token: glcbt-[MASKED]")
    }

    @Test func leavesABarePrefixAlone() {
      let masker = SecretMasker(secrets: [])
      #expect(masker.mask("the glpat- prefix") == "the glpat- prefix")
      #expect(masker.mask("ends with glpat-") == "ends with glpat-")
    }

    @Test func masksEveryDefaultGitLabPrefix() {
      let masker = SecretMasker(secrets: [])
      for prefix in SecretMasker.defaultTokenPrefixes {
        #expect(masker.mask("x \(prefix)Secret1 y") == "x \(prefix)[MASKED] y", "\(prefix)")
      }
    }

    @Test func masksPrefixesTheJobAddsTrimmingWhitespace() {
      let masker = SecretMasker(secrets: [], tokenPrefixes: [" custom_ ", "", "  "])
      #expect(masker.mask("a custom_abc b") == "a custom_[MASKED] b")
      #expect(SecretMasker(secrets: []).mask("a custom_abc b") == "a custom_abc b")
    }

    @Test func overlappingSecretsAreHiddenAsOneRun() {
      let masker = SecretMasker(secrets: ["abcd", "cdef"])
      #expect(masker.mask("xabcdefy") == "x[MASKED]y")
    }

    @Test func secretInsideAPrefixedTokenLeavesNothingOfEither() {
      let masker = SecretMasker(secrets: ["glcbt-jobtoken1"])
      let output = masker.mask("CI_JOB_TOKEN=glcbt-jobtoken1;")
      #expect(output == "CI_JOB_TOKEN=[MASKED];")
    }

    @Test func touchingOccurrencesStaySeparate() {
      #expect(SecretMasker(secrets: ["ab"]).mask("abab") == "[MASKED][MASKED]")
    }

    @Test func secretSplitAcrossWritesIsStillMasked() {
      let masker = SecretMasker(secrets: ["topsecretvalue"])
      let input = "before topsecretvalue after"
      let bytes = Array(input.utf8)
      for cut in 0...bytes.count {
        let pieces = [
          String(decoding: bytes[..<cut], as: UTF8.self),
          String(decoding: bytes[cut...], as: UTF8.self),
        ]
        #expect(streamed(masker, pieces) == "before [MASKED] after", "split at \(cut)")
      }
    }

    @Test func secretWrittenOneByteAtATimeIsStillMasked() {
      let input = "x glpat-abcdef y topsecretvalue z"
      let masker = SecretMasker(secrets: ["topsecretvalue"])
      #expect(streamed(masker, input.map { String($0) }) == "x glpat-[MASKED] y [MASKED] z")
    }

    @Test func holdsBackOnlyWhatCouldStillBecomeASecret() {
      var masker = SecretMasker(secrets: ["password123"])
      let released = masker.write("line one\nand pass".utf8)
      #expect(String(decoding: released, as: UTF8.self) == "line one\nand ")
      #expect(masker.heldBackCount == "pass".count)
      let rest = masker.write("ive\n".utf8)
      #expect(String(decoding: rest, as: UTF8.self) == "passive\n")
      #expect(masker.heldBackCount == 0)
    }

    @Test func holdsBackAnUnfinishedTokenUntilItEnds() {
      var masker = SecretMasker(secrets: [])
      #expect(String(decoding: masker.write("a glpat-abc".utf8), as: UTF8.self) == "a ")
      #expect(String(decoding: masker.write("def".utf8), as: UTF8.self) == "")
      #expect(String(decoding: masker.write(" b".utf8), as: UTF8.self) == "glpat-[MASKED] b")
    }

    @Test func flushReleasesAPartialMatchUnchanged() {
      var masker = SecretMasker(secrets: ["password123"])
      let output = masker.write("my pass".utf8) + masker.flush()
      #expect(String(decoding: output, as: UTF8.self) == "my pass")
      #expect(masker.heldBackCount == 0)
    }

    @Test func oneOffMaskDoesNotDisturbTheStream() {
      var masker = SecretMasker(secrets: ["topsecretvalue"])
      _ = masker.write("a topsec".utf8)
      #expect(masker.mask("error: topsecretvalue rejected") == "error: [MASKED] rejected")
      let rest = masker.write("retvalue b".utf8) + masker.flush()
      #expect(String(decoding: rest, as: UTF8.self) == "[MASKED] b")
    }

    @Test func emptyAndDuplicateSecretsAreIgnored() {
      let masker = SecretMasker(secrets: ["", "same-secret", "same-secret"])
      #expect(masker.mask("plain text") == "plain text")
      #expect(masker.mask("same-secret") == "[MASKED]")
    }

    @Test func streamingOutputEqualsOneShotOutputForRandomSplits() {
      // Small alphabets make secrets, prefixes and near misses collide often.
      var generator = SplitMix64(seed: 0x5EC2E7)
      let alphabet = Array("abcgl-pat_ \n?&=".utf8)
      for round in 0..<300 {
        let secrets = (0..<Int.random(in: 0...4, using: &generator)).map { _ in
          String(
            decoding: (0..<Int.random(in: 1...6, using: &generator)).map { _ in
              alphabet.randomElement(using: &generator)!
            }, as: UTF8.self)
        }
        let prefixes = Bool.random(using: &generator) ? ["ab"] : []
        let masker = SecretMasker(secrets: secrets, tokenPrefixes: prefixes)
        let input = (0..<Int.random(in: 0...120, using: &generator)).map { _ in
          alphabet.randomElement(using: &generator)!
        }
        var oneShot = masker
        let expected = oneShot.write(input) + oneShot.flush()
        for _ in 0..<10 {
          let output = masker.streamed(input, piecesUpTo: 12, using: &generator)
          #expect(output == expected, "round \(round), secrets \(secrets)")
        }
        let text = String(decoding: expected, as: UTF8.self)
        for secret in secrets where !secret.isEmpty {
          #expect(!text.contains(secret), "round \(round): \(secret) survived")
        }
      }
    }

    @Test func masksCredentialsInURLQueryParameters() {
      let masker = SecretMasker(secrets: [])
      #expect(
        masker.mask("GET https://gitlab/api/v4/x?private_token=abc123&page=2 200")
          == "GET https://gitlab/api/v4/x?private_token=[MASKED]&page=2 200")
      #expect(
        masker.mask("s3 https://b/o?X-Amz-Credential=AKIA/2024/s3&X-Amz-Signature=beef\n")
          == "s3 https://b/o?X-Amz-Credential=[MASKED]&X-Amz-Signature=[MASKED]\n")
      #expect(masker.mask("tail ?rss_token=xyz") == "tail ?rss_token=[MASKED]")
    }

    @Test func leavesOtherAndEmptyURLParametersAlone() {
      let masker = SecretMasker(secrets: [])
      #expect(masker.mask("a?private_token=&b=1") == "a?private_token=&b=1")
      #expect(masker.mask("my_private_token=abc") == "my_private_token=abc")
      #expect(masker.mask("x?page=1&per_page=2") == "x?page=1&per_page=2")
      let disabled = SecretMasker(secrets: [], masksURLParameters: false)
      #expect(disabled.mask("x?private_token=abc") == "x?private_token=abc")
    }

    @Test func streamingEqualsOneShotForLogsBuiltFromSensitiveFragments() {
      // Random logs assembled from pieces of prefixes, parameters and secrets hit the partial
      // matches that character-level noise rarely produces.
      var generator = SplitMix64(seed: 99)
      let vocabulary = [
        "?rss_token=", "&RSS_Token=", "?private", "_token=", "glpat-", "glrt", "-", "abc", "x",
        " ", "\n", "&", "=", "s3cret", "s3", "cret", "GR1348941", "tok.en_",
      ]
      let masker = SecretMasker(secrets: ["s3cret", "et&gl"], tokenPrefixes: ["tok."])
      for round in 0..<600 {
        let input = Array(
          (0..<Int.random(in: 0...25, using: &generator)).map { _ in
            vocabulary.randomElement(using: &generator)!
          }.joined().utf8)
        var oneShot = masker
        let expected = oneShot.write(input) + oneShot.flush()
        for _ in 0..<5 {
          let output = masker.streamed(input, piecesUpTo: 9, using: &generator)
          #expect(output == expected, "round \(round): \(String(decoding: input, as: UTF8.self))")
        }
        #expect(!String(decoding: expected, as: UTF8.self).contains("s3cret"))
      }
    }
  }
}

extension SecretMasker {
  /// What a fresh copy of this masker gives for `input` written in random pieces of at most
  /// `piecesUpTo` bytes, then flushed: the output of a stream cut anywhere.
  func streamed(_ input: [UInt8], piecesUpTo longest: Int, using generator: inout SplitMix64) -> [UInt8] {
    var streaming = self
    var output: [UInt8] = []
    var start = 0
    while start < input.count {
      let end = min(input.count, start + Int.random(in: 0...longest, using: &generator))
      output += streaming.write(input[start..<end])
      start = end
    }
    return output + streaming.flush()
  }
}
