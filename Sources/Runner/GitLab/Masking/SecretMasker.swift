/// Hides secrets in the job log as it streams: masked CI variable values, the job token, the
/// runner token, and any token that starts with a GitLab token prefix.
///
/// What is hidden follows the official runner (helpers/trace/internal/masker and
/// tokensanitizer):
/// - every occurrence of a secret value is replaced by `[MASKED]`;
/// - after a token prefix (`glpat-`, …) the run of token characters (`A-Z a-z 0-9 - . _ =`)
///   is replaced by `[MASKED]` and the prefix itself is kept, so the reader sees which kind of
///   token was there; a prefix followed by no token character is left alone;
/// - any non-empty value is a secret (GitLab itself refuses masked variables shorter than 8
///   characters); no URL-encoded or base64 variants are added, as the official runner adds
///   none.
/// Where occurrences overlap (one secret inside or across another) this masker hides the union
/// of all of them as one `[MASKED]`, where the official runner's chain of writers can leave a
/// fragment of the shorter one visible; occurrences that merely touch stay separate
/// `[MASKED]`s, as in the official runner.
///
/// Output is byte-identical however the input is split into writes: `write` holds back only
/// the tail that could still turn out to be part of a secret, and `flush` releases it at the
/// end of the log.
struct SecretMasker: Sendable {
  static let maskText = "[MASKED]"

  /// Prefixes of GitLab's own tokens, masked in every job (the official runner masks `glpat-`
  /// by default and GitLab sends the rest in `features.token_mask_prefixes`).
  static let defaultTokenPrefixes = [
    "glpat-", "glrt-", "gldt-", "glptt-", "glcbt-", "glimt-", "glsoat-", "glffct-", "glagent-",
    "gloas-", "GR1348941",
  ]

  private let secrets: [[UInt8]]
  private let tokenPrefixes: [[UInt8]]
  /// Bytes written but not yet released: they may still be the start of a secret.
  private var pending: [UInt8] = []

  /// - Parameters:
  ///   - secrets: values to hide wherever they appear; empty values are ignored.
  ///   - tokenPrefixes: extra prefixes (e.g. the job's `features.token_mask_prefixes`), added
  ///     to `defaultTokenPrefixes`; surrounding whitespace is trimmed, empty ones ignored.
  init(secrets: [String], tokenPrefixes: [String] = []) {
    self.secrets = Self.unique(secrets.map { Array($0.utf8) })
    self.tokenPrefixes = Self.unique(
      (Self.defaultTokenPrefixes + tokenPrefixes).map { Array($0.trimmingWhitespace().utf8) })
  }

  /// How many bytes are held back waiting for more input.
  var heldBackCount: Int { pending.count }

  /// Masks the next piece of the log and returns what can be released now.
  mutating func write(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    pending.append(contentsOf: bytes)
    return release(atEnd: false)
  }

  /// Releases everything held back: call once when the log ends.
  mutating func flush() -> [UInt8] {
    release(atEnd: true)
  }

  /// Masks a whole message at once (runner log lines, error messages).
  func mask(_ message: String) -> String {
    var copy = self
    copy.pending = []
    let output = copy.write(message.utf8) + copy.flush()
    return String(decoding: output, as: UTF8.self)
  }

  private mutating func release(atEnd: Bool) -> [UInt8] {
    let scan = MaskScan(
      buffer: pending, secrets: secrets, tokenPrefixes: tokenPrefixes, atEnd: atEnd)
    let output = scan.render(upTo: scan.releasableLength)
    pending.removeFirst(scan.releasableLength)
    return output
  }

  private static func unique(_ values: [[UInt8]]) -> [[UInt8]] {
    var seen = Set<[UInt8]>()
    return values.filter { !$0.isEmpty && seen.insert($0).inserted }
  }
}

/// One pass over the held-back bytes: the ranges to hide and how far the output is final.
private struct MaskScan {
  let buffer: [UInt8]
  /// Disjoint, sorted ranges to replace, each made of overlapping occurrences.
  private(set) var runs: [Range<Int>] = []
  /// Bytes before this offset cannot change whatever comes next.
  private(set) var releasableLength = 0

  init(buffer: [UInt8], secrets: [[UInt8]], tokenPrefixes: [[UInt8]], atEnd: Bool) {
    self.buffer = buffer
    var hidden: [Range<Int>] = []
    // The earliest offset where an occurrence may begin that needs bytes not yet written.
    var undecided = buffer.count
    for secret in secrets {
      Self.forEachCandidate(of: secret, in: buffer) { start, complete in
        if complete {
          hidden.append(start..<(start + secret.count))
        } else if !atEnd {
          undecided = min(undecided, start)
        }
      }
    }
    for prefix in tokenPrefixes {
      Self.forEachCandidate(of: prefix, in: buffer) { start, complete in
        guard complete else {
          if !atEnd { undecided = min(undecided, start) }
          return
        }
        let tokenStart = start + prefix.count
        var tokenEnd = tokenStart
        while tokenEnd < buffer.count, isTokenCharacter(buffer[tokenEnd]) { tokenEnd += 1 }
        if tokenEnd == buffer.count && !atEnd {
          undecided = min(undecided, start)
        } else if tokenEnd > tokenStart {
          hidden.append(tokenStart..<tokenEnd)
        }
      }
    }
    runs = Self.mergeOverlapping(hidden)
    releasableLength = undecided
    // A run that reaches into the undecided tail may still grow: hold it back whole.
    if let crossing = runs.first(where: { $0.lowerBound < undecided && $0.upperBound > undecided }) {
      releasableLength = crossing.lowerBound
    }
  }

  func render(upTo end: Int) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(end)
    var position = 0
    for run in runs where run.upperBound <= end {
      output.append(contentsOf: buffer[position..<run.lowerBound])
      output.append(contentsOf: SecretMasker.maskText.utf8)
      position = run.upperBound
    }
    output.append(contentsOf: buffer[position..<end])
    return output
  }

  /// Calls `body` for each full occurrence of `needle` (complete: true) and for each tail of
  /// the buffer that is a proper prefix of it (complete: false).
  private static func forEachCandidate(
    of needle: [UInt8], in buffer: [UInt8], _ body: (Int, Bool) -> Void
  ) {
    guard let first = needle.first else { return }
    var start = 0
    while let found = buffer[start...].firstIndex(of: first) {
      let available = min(needle.count, buffer.count - found)
      if buffer[found..<(found + available)].elementsEqual(needle[0..<available]) {
        body(found, available == needle.count)
      }
      start = found + 1
    }
  }

  private static func mergeOverlapping(_ ranges: [Range<Int>]) -> [Range<Int>] {
    var merged: [Range<Int>] = []
    for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if let last = merged.last, range.lowerBound < last.upperBound {
        merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
      } else {
        merged.append(range)
      }
    }
    return merged
  }
}

/// The characters the official runner counts as part of a prefixed token.
private func isTokenCharacter(_ byte: UInt8) -> Bool {
  switch byte {
  case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
    UInt8(ascii: "_"), UInt8(ascii: "="):
    return true
  default:
    return false
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
