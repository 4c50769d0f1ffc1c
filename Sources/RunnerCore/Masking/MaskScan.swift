import Protocols

/// One pass over the held-back bytes of a `SecretMasker`: the ranges to hide and how far the
/// output can no longer change.
///
/// Each hidden range has an anchor: where the text that makes it secret begins (the secret
/// itself, or the token prefix or `?name=` before the hidden value). Output is released only up
/// to a point that no unfinished occurrence, and no held-back run or its anchor, lies before:
/// rescanning the held-back bytes later then finds exactly the runs that masking everything at
/// once would find.
package struct MaskScan {
  /// Disjoint, sorted ranges to replace, each made of overlapping occurrences.
  package private(set) var runs: [Run] = []
  /// Bytes before this offset cannot change whatever comes next.
  package private(set) var releasableLength = 0

  /// Scans `bytes`, the held-back bytes followed by those just written, which the scan does not
  /// keep: `render` takes them again.
  package init(_ bytes: UnsafeBufferPointer<UInt8>, patterns: borrowing MaskPatterns, atEnd: Bool) {
    self.init(
      bytes, patterns: patterns, shared: SharedMaskTables.empty, pairs: patterns.startsWithPair, atEnd: atEnd)
  }

  /// The same for the needles of two tables at once: a job's own (`patterns`, its secrets) and
  /// those every job shares (`shared`, the default token prefixes and URL parameters), as if
  /// they were one table. `pairs`: the union of both tables' `startsWithPair`.
  package init(
    _ bytes: UnsafeBufferPointer<UInt8>, patterns: borrowing MaskPatterns, shared: borrowing MaskPatterns,
    pairs: borrowing [UInt64], atEnd: Bool
  ) {
    var hidden: [Run] = []
    // The earliest offset where an occurrence may begin that needs bytes not yet written.
    var undecided = bytes.count
    patterns.withTables { own in
      shared.withTables { common in
        pairs.withUnsafeBufferPointer { pairs in
          let last = bytes.count - 1
          var next = 0
          while next < bytes.count {
            next = Self.skipping(bytes, from: next, pairs)
            guard next < bytes.count else { break }
            let start = next
            next += 1
            Self.candidates(
              at: start, last: last, common, bytes, atEnd: atEnd, hidden: &hidden, undecided: &undecided)
            Self.candidates(
              at: start, last: last, own, bytes, atEnd: atEnd, hidden: &hidden, undecided: &undecided)
          }
        }
      }
    }
    runs = hidden.isEmpty ? [] : Self.mergeOverlapping(hidden)
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

  /// Every needle of `tables` that begins with the byte at `start`: the runs it hides, and how
  /// far the output is decided.
  @inline(__always)
  private static func candidates(
    at start: Int, last: Int, _ tables: MaskPatterns.Tables, _ bytes: UnsafeBufferPointer<UInt8>,
    atEnd: Bool, hidden: inout [Run], undecided: inout Int
  ) {
    guard tables.startsANeedle[Int(bytes[start])] else { return }
    // The last byte has no next one to rule it out: it may start an unfinished match.
    if start < last && !tables.mayStart(bytes[start], bytes[start + 1]) { return }
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
        while hiddenEnd < bytes.count, isTokenCharacter(bytes[hiddenEnd]) { hiddenEnd += 1 }
      case .urlParameter:
        while hiddenEnd < bytes.count, !endsURLParameter(bytes[hiddenEnd]) { hiddenEnd += 1 }
      }
      if hiddenEnd == bytes.count && !atEnd {
        undecided = min(undecided, start)
      } else if hiddenEnd > end {
        hidden.append(Run(range: end..<hiddenEnd, anchor: start))
      }
    }
  }

  /// The first offset from `start` on where a needle of either table may begin, or a little
  /// before it: eight offsets at a time are ruled out on their byte pairs (`pairs`, both
  /// tables' `MaskPatterns.startsWithPair` in one) without a branch per byte, as long as all
  /// eight have a next byte.
  @inline(__always)
  private static func skipping(
    _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ pairs: UnsafeBufferPointer<UInt64>
  ) -> Int {
    guard let base = bytes.baseAddress else { return start }
    var offset = start
    while offset + 8 < bytes.count {
      var found: UInt64 = 0
      for position in offset..<offset + 8 {
        let pair = Int(base[position]) &<< 8 | Int(base[position + 1])
        found |= pairs[pair &>> 6] &>> UInt64(pair & 63)
      }
      if found & 1 != 0 { return offset }
      offset += 8
    }
    return offset
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
      guard sameByte(byte, tables.bytes[needle.raw.lowerBound + position], needle.rawFolding) else {
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
    where !sameByte(bytes[offset + position], tables.bytes[form.start + position], form.folding) {
      return .mismatch
    }
    return available < form.count ? .partial : .full(end: offset + form.count)
  }

  /// The first `end` bytes of `bytes` (those scanned), with every run up to there replaced.
  package func render(_ bytes: UnsafeBufferPointer<UInt8>, upTo end: Int) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(end + 8 * runs.count)
    var position = 0
    for run in runs where run.range.upperBound <= end {
      output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<run.range.lowerBound]))
      output.append(contentsOf: SecretMasker.maskText.utf8)
      position = run.range.upperBound
    }
    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<end]))
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

  package struct Run {
    package let range: Range<Int>
    /// Where the evidence for hiding `range` begins; never after `range.lowerBound`.
    package let anchor: Int
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

/// Where the official runner ends a URL parameter value (`&`, space), and also other
/// whitespace, quotes, angle brackets and `#`, which cannot be part of a raw query value: the
/// official runner would run such a value on into the next line.
private func endsURLParameter(_ byte: UInt8) -> Bool {
  switch byte {
  case UInt8(ascii: "&"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"),
    UInt8(ascii: "\n"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "<"),
    UInt8(ascii: ">"), UInt8(ascii: "#"):
    return true
  default:
    return false
  }
}

private func sameByte(_ input: UInt8, _ expected: UInt8, _ folding: MaskPatterns.Folding) -> Bool {
  if input == expected { return true }
  switch folding {
  case .exact: return false
  case .hexDigits: return (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(expected) && input == expected - 32
  case .letters: return lowercasedASCII(input) == expected
  }
}
