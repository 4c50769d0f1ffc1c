/// One pass over the held-back bytes of a `SecretMasker`: the ranges to hide and how far the
/// output can no longer change.
///
/// Each hidden range has an anchor: where the text that makes it secret begins (the secret
/// itself, or the token prefix or `?name=` before the hidden value). Output is released only up
/// to a point that no unfinished occurrence, and no held-back run or its anchor, lies before:
/// rescanning the held-back bytes later then finds exactly the runs that masking everything at
/// once would find.
struct MaskScan {
  let buffer: [UInt8]
  /// Disjoint, sorted ranges to replace, each made of overlapping occurrences.
  private(set) var runs: [Run] = []
  /// Bytes before this offset cannot change whatever comes next.
  private(set) var releasableLength = 0

  init(buffer: [UInt8], patterns: MaskPatterns, atEnd: Bool) {
    self.buffer = buffer
    var hidden: [Run] = []
    // The earliest offset where an occurrence may begin that needs bytes not yet written.
    var undecided = buffer.count
    buffer.withUnsafeBufferPointer { bytes in
      for start in bytes.indices where patterns.startsANeedle[Int(bytes[start])] {
        for index in patterns.byFirstByte[Int(bytes[start])] {
          let needle = patterns.needles[index]
          let (end, needsMore) = Self.match(needle, patterns, bytes, at: start)
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
  private static func match(
    _ needle: MaskPatterns.Needle, _ patterns: MaskPatterns, _ bytes: UnsafeBufferPointer<UInt8>,
    at start: Int
  ) -> (end: Int?, needsMore: Bool) {
    var current = Offsets(start)
    var needsMore = false
    for unit in needle.units {
      var next = Offsets()
      current.forEach { offset in
        for formIndex in patterns.unitForms[unit] {
          let form = patterns.forms[formIndex]
          let available = min(form.count, bytes.count - offset)
          var fits = true
          for position in 0..<available
          where !sameByte(bytes[offset + position], patterns.bytes[form.start + position], form.folding) {
            fits = false
            break
          }
          guard fits else { continue }
          if available < form.count {
            needsMore = true
          } else {
            next.insert(offset + form.count)
          }
        }
      }
      guard !next.isEmpty else { return (nil, needsMore) }
      current = next
    }
    return (current.maximum, needsMore)
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

/// The offsets a match has reached; nearly always one, kept without allocating.
private struct Offsets {
  private var first: Int?
  private var others: [Int] = []

  init() {}
  init(_ offset: Int) { first = offset }

  var isEmpty: Bool { first == nil }
  var maximum: Int? { others.max().map { max($0, first ?? $0) } ?? first }

  mutating func insert(_ offset: Int) {
    guard let first else {
      self.first = offset
      return
    }
    if offset != first && !others.contains(offset) { others.append(offset) }
  }

  func forEach(_ body: (Int) -> Void) {
    guard let first else { return }
    body(first)
    for offset in others { body(offset) }
  }
}
