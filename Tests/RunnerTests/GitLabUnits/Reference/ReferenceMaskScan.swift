import Foundation

@testable import RunnerCore

// The masker's scan as it was before it skipped bytes two at a time and scanned writes in
// place (main f52b074): every byte that may start a needle tries every needle starting with
// it. Kept verbatim, renamed, as the reference the fast scan must agree with byte for byte.

/// One pass over the held-back bytes of a `SecretMasker`: the ranges to hide and how far the
/// output can no longer change.
///
/// Each hidden range has an anchor: where the text that makes it secret begins (the secret
/// itself, or the token prefix or `?name=` before the hidden value). Output is released only up
/// to a point that no unfinished occurrence, and no held-back run or its anchor, lies before:
/// rescanning the held-back bytes later then finds exactly the runs that masking everything at
/// once would find.
struct ReferenceMaskScan {
  let buffer: [UInt8]
  /// Disjoint, sorted ranges to replace, each made of overlapping occurrences.
  private(set) var runs: [Run] = []
  /// Bytes before this offset cannot change whatever comes next.
  private(set) var releasableLength = 0

  init(buffer: [UInt8], patterns: borrowing MaskPatterns, atEnd: Bool) {
    self.buffer = buffer
    var hidden: [Run] = []
    // The earliest offset where an occurrence may begin that needs bytes not yet written.
    var undecided = buffer.count
    patterns.withTables { tables in
      buffer.withUnsafeBufferPointer { bytes in
        for start in bytes.indices where tables.startsANeedle[Int(bytes[start])] {
          let first = Int(bytes[start])
          for index in tables.firstByteNeedles[
            tables.firstByteStarts[first]..<tables.firstByteStarts[first + 1]]
          {
            let needle = tables.needles[index]
            let (end, needsMore) = Self.match(needle, tables, bytes, at: start)
            if needsMore && !atEnd { undecided = min(undecided, start) }
            guard let end else { continue }
            var hiddenEnd = end
            switch needle.kind {
            case .secret:
              hidden.append(Run(range: start..<end, anchor: start))
              continue
            case .tokenPrefix:
              while hiddenEnd < bytes.count, referenceIsTokenCharacter(bytes[hiddenEnd]) { hiddenEnd += 1 }
            case .urlParameter:
              while hiddenEnd < bytes.count, !referenceEndsURLParameter(bytes[hiddenEnd]) { hiddenEnd += 1 }
            }
            if hiddenEnd == bytes.count && !atEnd {
              undecided = min(undecided, start)
            } else if hiddenEnd > end {
              hidden.append(Run(range: end..<hiddenEnd, anchor: start))
            }
          }
        }
      }
    }
    runs = Self.mergeOverlapping(hidden)
    // A run that reaches past the cut, or whose anchor would be released without it, must be
    // held back from its anchor; lowering the cut can catch earlier runs, hence the loop.
    var cut = undecided
    while let held = runs.first(where: {
      $0.range.upperBound > cut && ($0.range.lowerBound < cut || $0.anchor < cut)
    }) {
      cut = held.anchor
    }
    releasableLength = cut
  }

  /// Where the longest occurrence of `needle` at `start` ends, if one is complete, and whether
  /// bytes past the end of the buffer could still make one (or a longer one).
  ///
  /// Units are matched form by form, following every form that fits: a secret holding `\`
  /// matches both its raw byte and the escape `\\`, and either may be the one that leads on.
  /// Nearly always one form fits, and the match follows a single offset without allocating.
  private static func match(
    _ needle: MaskPatterns.Needle, _ tables: MaskPatterns.Tables, _ bytes: UnsafeBufferPointer<UInt8>,
    at start: Int
  ) -> (end: Int?, needsMore: Bool) {
    // The raw form, as long as no byte could begin another form (which only a unit's start
    // can): then no other path exists and the raw comparison decides alone.
    var position = 0
    let count = needle.raw.count
    while position < count {
      let offset = start + position
      guard offset < bytes.count else { return (nil, true) }
      let byte = bytes[offset]
      if tables.startsAnotherForm[Int(byte)] { return matchUnits(needle, tables, bytes, at: start) }
      guard referenceSameByte(byte, tables.bytes[needle.raw.lowerBound + position], needle.rawFolding) else {
        return (nil, false)
      }
      position += 1
    }
    return (start + count, false)
  }

  /// `match` unit by unit, for where an escape or encoding may begin.
  private static func matchUnits(
    _ needle: MaskPatterns.Needle, _ tables: MaskPatterns.Tables, _ bytes: UnsafeBufferPointer<UInt8>,
    at start: Int
  ) -> (end: Int?, needsMore: Bool) {
    var offset = start
    var needsMore = false
    var unit = needle.units.lowerBound
    while unit < needle.units.upperBound {
      // The buffer ends where this unit begins: any of its forms may follow.
      guard offset < bytes.count else { return (nil, true) }
      let byte = bytes[offset]
      let unitForms = tables.unitForms[unit].range
      // Nearly every byte can start only the raw form: the other forms begin with `\`, `%`….
      let candidates = tables.startsAnotherForm[Int(byte)] ? unitForms : unitForms.prefix(1)
      var next = -1
      var other = -1
      for formIndex in candidates {
        let form = tables.forms[formIndex]
        guard byte == form.first || byte == form.firstOtherCase else { continue }
        switch compare(form, tables, bytes, at: offset) {
        case .mismatch: continue
        case .partial: needsMore = true
        case .full(let end):
          if next < 0 {
            next = end
          } else if end != next {
            other = end
          }
        }
      }
      guard next >= 0 else { return (nil, needsMore) }
      if other >= 0 {
        // Two forms of this unit fit with different lengths: follow every path from here.
        let (end, more) = matchFrom([offset], unit: unit, needle, tables, bytes)
        return (end, needsMore || more)
      }
      offset = next
      unit += 1
    }
    return (offset, needsMore)
  }

  /// The general case of `match`: every offset the units from `first` on can reach.
  private static func matchFrom(
    _ offsets: [Int], unit first: Int, _ needle: MaskPatterns.Needle, _ tables: MaskPatterns.Tables,
    _ bytes: UnsafeBufferPointer<UInt8>
  ) -> (end: Int?, needsMore: Bool) {
    var current = offsets
    var needsMore = false
    for unit in first..<needle.units.upperBound {
      var next: [Int] = []
      for offset in current {
        for formIndex in tables.unitForms[unit].range {
          switch compare(tables.forms[formIndex], tables, bytes, at: offset) {
          case .mismatch: continue
          case .partial: needsMore = true
          case .full(let end): if !next.contains(end) { next.append(end) }
          }
        }
      }
      guard !next.isEmpty else { return (nil, needsMore) }
      current = next
    }
    return (current.max(), needsMore)
  }

  private enum FormMatch {
    case mismatch
    /// The buffer ends inside the form, every byte so far matching.
    case partial
    case full(end: Int)
  }

  @inline(__always)
  private static func compare(
    _ form: MaskPatterns.Form, _ tables: MaskPatterns.Tables, _ bytes: UnsafeBufferPointer<UInt8>,
    at offset: Int
  ) -> FormMatch {
    let available = min(form.count, bytes.count - offset)
    for position in 0..<available
    where !referenceSameByte(bytes[offset + position], tables.bytes[form.start + position], form.folding) {
      return .mismatch
    }
    return available < form.count ? .partial : .full(end: offset + form.count)
  }

  func render(upTo end: Int) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(end)
    var position = 0
    for run in runs where run.range.upperBound <= end {
      output.append(contentsOf: buffer[position..<run.range.lowerBound])
      output.append(contentsOf: SecretMasker.maskText.utf8)
      position = run.range.upperBound
    }
    output.append(contentsOf: buffer[position..<end])
    return output
  }

  private static func mergeOverlapping(_ runs: [Run]) -> [Run] {
    var merged: [Run] = []
    for run in runs.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
      if let last = merged.last, run.range.lowerBound < last.range.upperBound {
        merged[merged.count - 1] = Run(
          range: last.range.lowerBound..<max(last.range.upperBound, run.range.upperBound),
          anchor: min(last.anchor, run.anchor))
      } else {
        merged.append(run)
      }
    }
    return merged
  }

  struct Run {
    let range: Range<Int>
    /// Where the evidence for hiding `range` begins; never after `range.lowerBound`.
    let anchor: Int
  }

}

/// The characters the official runner counts as part of a prefixed token.
private func referenceIsTokenCharacter(_ byte: UInt8) -> Bool {
  switch byte {
  case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
    UInt8(ascii: "_"), UInt8(ascii: "="):
    return true
  default:
    return false
  }
}

/// Where the official runner ends a URL parameter value (`&`, space), and also other
/// whitespace, quotes, angle brackets and `#`, which cannot be part of a raw query value: the
/// official runner would run such a value on into the next line.
private func referenceEndsURLParameter(_ byte: UInt8) -> Bool {
  switch byte {
  case UInt8(ascii: "&"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"),
    UInt8(ascii: "\n"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "<"),
    UInt8(ascii: ">"), UInt8(ascii: "#"):
    return true
  default:
    return false
  }
}

private func referenceSameByte(_ input: UInt8, _ expected: UInt8, _ folding: MaskPatterns.Folding) -> Bool {
  if input == expected { return true }
  switch folding {
  case .exact: return false
  case .hexDigits: return (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(expected) && input == expected - 32
  case .letters: return lowercasedASCII(input) == expected
  }
}

/// `SecretMasker`'s streaming as it was, on `ReferenceMaskScan`: every write appended to the
/// held-back bytes and the whole rescanned.
struct ReferenceSecretMasker {
  private let patterns: MaskPatterns
  private var pending: [UInt8] = []

  init(secrets: [String], tokenPrefixes: [String] = [], masksURLParameters: Bool = true) {
    var seen = Set<String>()
    let secrets = secrets.filter { !$0.isEmpty && seen.insert($0).inserted }
    var seenPrefixes = Set<[UInt8]>()
    let prefixes = (SecretMasker.defaultTokenPrefixes + tokenPrefixes)
      .map { Array($0.trimmingCharacters(in: .whitespacesAndNewlines).utf8) }
      .filter { !$0.isEmpty && seenPrefixes.insert($0).inserted }
    let parameters = masksURLParameters ? SecretMasker.sensitiveURLParameters : []
    patterns = MaskPatterns(
      secrets: secrets, tokenPrefixes: prefixes,
      urlParameterStarts: parameters.flatMap { ["?\($0)=", "&\($0)="] }.map { Array($0.utf8) })
  }

  mutating func write(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    pending.append(contentsOf: bytes)
    return release(atEnd: false)
  }

  mutating func flush() -> [UInt8] { release(atEnd: true) }

  private mutating func release(atEnd: Bool) -> [UInt8] {
    let scan = ReferenceMaskScan(buffer: pending, patterns: patterns, atEnd: atEnd)
    let output = scan.render(upTo: scan.releasableLength)
    pending.removeFirst(scan.releasableLength)
    return output
  }
}
