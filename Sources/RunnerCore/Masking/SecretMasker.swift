import Protocols

/// Hides secrets in the job log as it streams: masked CI variable values, the job token, the
/// runner token, and any token that starts with a GitLab token prefix.
///
/// What is hidden follows the official runner (helpers/trace/internal/masker and
/// tokensanitizer):
/// - every occurrence of a secret value is replaced by `[MASKED]`;
/// - after a token prefix (`glpat-`, …) the run of token characters (`A-Z a-z 0-9 - . _ =`)
///   is replaced by `[MASKED]` and the prefix itself is kept, so the reader sees which kind of
///   token was there; a prefix followed by no token character is left alone;
/// - the values of URL query parameters that carry credentials (`private_token`,
///   `authenticity_token`, `rss_token`, `X-Amz-Signature`, `X-Amz-Credential`, any case) are
///   replaced by `[MASKED]`, as the official runner does by default;
/// - any non-empty value is a secret (GitLab itself refuses masked variables shorter than 8
///   characters);
/// - a secret is also hidden where it was escaped or encoded on its way into the log, character
///   by character in any mix: JSON and YAML string escapes (`\"`, `\\`, `\/`, `\n`…, `\uXXXX`
///   with surrogate pairs, `\xXX`, `\UXXXXXXXX`, `''`) and percent-encoding (`%XX`, `+` for a
///   space), hex digits in either case. The official runner adds only the URL-encoded form;
///   base64, HTML entities and doubly escaped forms are not recognised.
/// Matching is on UTF-8 bytes, never on Swift `Character`s: a secret followed by a combining
/// mark or a variation selector (U+FE0F) is hidden like any other.
/// Where occurrences overlap (one secret inside or across another) this masker hides the union
/// of all of them as one `[MASKED]`, where the official runner's chain of writers can leave a
/// fragment of the shorter one visible; occurrences that merely touch stay separate
/// `[MASKED]`s, as in the official runner.
///
/// Output is byte-identical however the input is split into writes: `write` holds back only
/// the tail that could still turn out to be part of a secret, and `flush` releases it at the
/// end of the log.
package struct SecretMasker: StreamMasker {
  package static let maskText = "[MASKED]"

  /// Prefixes of GitLab's own tokens, masked in every job whatever it asks for: the official
  /// runner always masks `glpat-` and relies on the job's `features.token_mask_prefixes` for
  /// the others, which older GitLab versions do not send.
  package static let defaultTokenPrefixes = [
    "glpat-", "glrt-", "gldt-", "glptt-", "glcbt-", "glimt-", "glsoat-", "glffct-", "glagent-",
    "gloas-", "GR1348941",
  ]

  /// Query parameters whose values are credentials (the official runner's list).
  package static let sensitiveURLParameters = [
    "private_token", "authenticity_token", "rss_token", "x-amz-signature", "x-amz-credential",
  ]

  /// The job's own secrets.
  private var patterns: MaskPatterns
  /// The token prefixes and URL parameters, the same in nearly every job: built once and shared
  /// by every masker with the same ones (`SharedMaskTables`).
  package let shared: MaskPatterns
  /// Both tables' byte-pair tables in one, so that the scan skips on one table (shared by the
  /// maskers whose secrets begin alike).
  private var pairs: [UInt64]
  private var secrets: [String]
  /// Bytes written but not yet released: they may still be the start of a secret.
  private var pending: [UInt8] = []

  /// - Parameters:
  ///   - secrets: values to hide wherever they appear; empty values are ignored.
  ///   - tokenPrefixes: extra prefixes (e.g. the job's `features.token_mask_prefixes`), added
  ///     to `defaultTokenPrefixes`; surrounding whitespace is trimmed, empty ones ignored.
  ///   - masksURLParameters: whether to mask `sensitiveURLParameters` values.
  package init(secrets: [String], tokenPrefixes: [String] = [], masksURLParameters: Bool = true) {
    let parameters = masksURLParameters ? Self.sensitiveURLParameters : []
    self.secrets = Self.unique(secrets)
    let prefixes = Self.unique(
      (Self.defaultTokenPrefixes + tokenPrefixes).map { Array($0.trimmingWhitespace().utf8) })
    let urlParameterStarts = parameters.flatMap { ["?\($0)=", "&\($0)="] }.map { Array($0.utf8) }
    shared = SharedMaskTables.defaults(tokenPrefixes: prefixes, urlParameterStarts: urlParameterStarts)
    patterns = Self.patterns(of: self.secrets)
    pairs = Self.pairs(patterns, shared)
  }

  private static func pairs(_ own: MaskPatterns, _ shared: MaskPatterns) -> [UInt64] {
    SharedMaskTables.shared(zip(own.startsWithPair, shared.startsWithPair).map { $0 | $1 })
  }

  /// The masker's own tables: its secrets alone.
  package var own: MaskPatterns { patterns }

  private static func patterns(of secrets: [String]) -> MaskPatterns {
    secrets.isEmpty
      ? SharedMaskTables.empty : MaskPatterns(secrets: secrets, tokenPrefixes: [], urlParameterStarts: [])
  }

  /// Hides `secret` too from now on, in every form the others are hidden in. Bytes already
  /// released stay as they were; bytes held back are masked with it.
  package mutating func addMask(_ secret: String) {
    guard !secret.isEmpty, !secrets.contains(secret) else { return }
    secrets.append(secret)
    patterns = Self.patterns(of: secrets)
    pairs = Self.pairs(patterns, shared)
  }

  /// How many bytes are held back waiting for more input.
  package var heldBackCount: Int { pending.count }

  /// Masks the next piece of the log and returns what can be released now.
  package mutating func write(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    // Nothing held back (nearly always): the bytes are scanned where they are, and only what
    // may still become a secret is kept.
    if pending.isEmpty,
      let output = bytes.withContiguousStorageIfAvailable({ release($0, atEnd: false) })
    {
      return output
    }
    pending.append(contentsOf: bytes)
    return release(atEnd: false)
  }

  /// Releases everything held back: call once when the log ends.
  package mutating func flush() -> [UInt8] {
    release(atEnd: true)
  }

  /// Masks a whole message at once (runner log lines, error messages).
  package func mask(_ message: String) -> String {
    var copy = self
    copy.pending = []
    let output = copy.write(message.utf8) + copy.flush()
    return String(decoding: output, as: UTF8.self)
  }

  private mutating func release(atEnd: Bool) -> [UInt8] {
    let (output, released) = pending.withUnsafeBufferPointer { bytes in
      let scan = MaskScan(bytes, patterns: patterns, shared: shared, pairs: pairs, atEnd: atEnd)
      return (scan.render(bytes, upTo: scan.releasableLength), scan.releasableLength)
    }
    pending.removeFirst(released)
    return output
  }

  /// `release` of `bytes` with nothing held back before them: what is not released is kept.
  private mutating func release(_ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool) -> [UInt8] {
    let scan = MaskScan(bytes, patterns: patterns, shared: shared, pairs: pairs, atEnd: atEnd)
    pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[scan.releasableLength...]))
    return scan.render(bytes, upTo: scan.releasableLength)
  }

  private static func unique<Value: Hashable & Collection>(_ values: [Value]) -> [Value] {
    var seen = Set<Value>()
    return values.filter { !$0.isEmpty && seen.insert($0).inserted }
  }
}

extension String {
  fileprivate func trimmingWhitespace() -> Substring {
    var view = self[...]
    while let first = view.first, first.isWhitespace { view.removeFirst() }
    while let last = view.last, last.isWhitespace { view.removeLast() }
    return view
  }
}
