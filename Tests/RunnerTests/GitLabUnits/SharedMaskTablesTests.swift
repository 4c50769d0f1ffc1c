import Testing

@testable import RunnerCore

/// A runner keeps one masker per running job (issue 10: 1000 jobs waiting in one runner): the
/// default patterns, and the lookup tables by byte value that jobs' secrets make alike, are
/// kept once, not once a job.
@Suite struct SharedMaskTablesTests {
  private func address<Element>(_ array: [Element]) -> UnsafeRawPointer? {
    array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
  }

  @Test func twoJobsMaskersShareTheDefaultPatternsAndKeepOnlyTheirSecrets() {
    let first = SecretMasker(secrets: ["job-one-secret-0123456789", "lava-token-abcdef0123456789"])
    let second = SecretMasker(secrets: ["job-two-secret-abcdefghij", "lava-token-abcdef0123456789"])
    #expect(address(first.shared.forms) == address(second.shared.forms))
    #expect(address(first.shared.needles) == address(second.shared.needles))
    #expect(first.shared.needles.count == SecretMasker.defaultTokenPrefixes.count + 10)
    // A job's own tables hold its secrets alone.
    #expect(first.own.needles.count == 2)
    #expect(second.own.needles.count == 2)
    #expect(address(first.own.forms) != address(second.own.forms))
    // Secrets that begin alike make the same tables by byte value: one buffer for both.
    #expect(address(first.own.startsWithPair) == address(second.own.startsWithPair))
    #expect(address(first.own.firstByteStarts) == address(second.own.firstByteStarts))
    #expect(address(first.own.startsANeedle) == address(second.own.startsANeedle))
  }

  @Test func aMaskerStillHidesItsSecretsTheDefaultPrefixesAndURLParametersTogether() {
    let masker = SecretMasker(secrets: ["s3cr3t-value"], tokenPrefixes: ["extra_"])
    let text = "a s3cr3t-value b glpat-abc c extra_xyz d ?private_token=p&x=1 s3%63r3t-value\n"
    #expect(
      masker.mask(text)
        == "a [MASKED] b glpat-[MASKED] c extra_[MASKED] d ?private_token=[MASKED]&x=1 [MASKED]\n")
    // Another job's extra prefix is not this one's: the defaults are shared per set of prefixes.
    let other = SecretMasker(secrets: [])
    #expect(other.mask("extra_xyz glpat-abc") == "extra_xyz glpat-[MASKED]")
    #expect(address(other.shared.needles) != address(masker.shared.needles))
  }

  @Test func aSecretAddedLaterIsHiddenWithoutCopyingTheDefaults() {
    var masker = SecretMasker(secrets: ["first-secret"])
    let shared = address(masker.shared.forms)
    masker.addMask("added-secret")
    #expect(address(masker.shared.forms) == shared)
    #expect(masker.own.needles.count == 2)
    #expect(masker.mask("added-secret first-secret glrt-x") == "[MASKED] [MASKED] glrt-[MASKED]")
  }
}
