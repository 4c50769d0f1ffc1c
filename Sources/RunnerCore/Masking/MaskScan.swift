import Protocols

/// One pass over the held-back bytes of a `SecretMasker`: the ranges to hide and how far the
/// output can no longer change.
///
/// Each hidden range has an anchor: where the text that makes it secret begins (the secret
/// itself, or the token prefix or `?name=` before the hidden value). Output is released only up
/// to a point that no unfinished occurrence, and no held-back run or its anchor, lies before:
/// rescanning the held-back bytes later then finds exactly the runs that masking everything at
/// once would find.
/// What a `SecretMasker` looks for, indexed by first byte so one pass over the log finds every
/// candidate occurrence.
package struct MaskPatterns: Sendable {
  package enum Kind: Sendable {
    /// The needle itself is hidden.
    case secret
    /// The token characters after the needle are hidden.
    case tokenPrefix
    /// The URL parameter value after the needle (`?name=`, matched ignoring case) is hidden.
    case urlParameter
  }

  package struct Needle: Sendable {
    package let bytes: [UInt8]
    package let kind: Kind
  }

  package let needles: [Needle]
  /// For each byte value, the needles starting with it (both cases for URL parameters).
  package let byFirstByte: [[Int]]
  /// Whether any needle starts with the byte: most log bytes are skipped on this alone.
  package let startsANeedle: [Bool]

  package init(secrets: [[UInt8]], tokenPrefixes: [[UInt8]], urlParameterStarts: [[UInt8]]) {
    needles =
      secrets.map { Needle(bytes: $0, kind: .secret) }
      + tokenPrefixes.map { Needle(bytes: $0, kind: .tokenPrefix) }
      + urlParameterStarts.map { Needle(bytes: $0.map(lowercasedASCII), kind: .urlParameter) }
    var index = [[Int]](repeating: [], count: 256)
    for (position, needle) in needles.enumerated() {
      guard let first = needle.bytes.first else { continue }
      index[Int(first)].append(position)
      if needle.kind == .urlParameter && uppercasedASCII(first) != first {
        index[Int(uppercasedASCII(first))].append(position)
      }
    }
    byFirstByte = index
    startsANeedle = index.map { !$0.isEmpty }
  }
}

package struct MaskScan {
  package let buffer: [UInt8]
  /// Disjoint, sorted ranges to replace, each made of overlapping occurrences.
  package private(set) var runs: [Run] = []
  /// Bytes before this offset cannot change whatever comes next.
  package private(set) var releasableLength = 0

  package init(buffer: [UInt8], patterns: MaskPatterns, atEnd: Bool) {
    self.buffer = buffer
    var hidden: [Run] = []
    // The earliest offset where an occurrence may begin that needs bytes not yet written.
    var undecided = buffer.count
    buffer.withUnsafeBufferPointer { bytes in
      for start in bytes.indices where patterns.startsANeedle[Int(bytes[start])] {
        for index in patterns.byFirstByte[Int(bytes[start])] {
          let needle = patterns.needles[index]
          let available = min(needle.bytes.count, bytes.count - start)
          guard Self.matches(needle, bytes, at: start, count: available) else { continue }
          guard available == needle.bytes.count else {
            if !atEnd { undecided = min(undecided, start) }
            continue
          }
          let hiddenStart: Int
          var hiddenEnd: Int
          switch needle.kind {
          case .secret:
            hidden.append(Run(range: start..<(start + available), anchor: start))
            continue
          case .tokenPrefix:
            hiddenStart = start + available
            hiddenEnd = hiddenStart
            while hiddenEnd < bytes.count, isTokenCharacter(bytes[hiddenEnd]) { hiddenEnd += 1 }
          case .urlParameter:
            hiddenStart = start + available
            hiddenEnd = hiddenStart
            while hiddenEnd < bytes.count, !endsURLParameter(bytes[hiddenEnd]) { hiddenEnd += 1 }
          }
          if hiddenEnd == bytes.count && !atEnd {
            undecided = min(undecided, start)
          } else if hiddenEnd > hiddenStart {
            hidden.append(Run(range: hiddenStart..<hiddenEnd, anchor: start))
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

  /// Whether the first `count` bytes of `needle` are at `start`.
  private static func matches(
    _ needle: MaskPatterns.Needle, _ bytes: UnsafeBufferPointer<UInt8>, at start: Int, count: Int
  ) -> Bool {
    let ignoringCase = needle.kind == .urlParameter
    for offset in 0..<count {
      let byte = ignoringCase ? lowercasedASCII(bytes[start + offset]) : bytes[start + offset]
      if byte != needle.bytes[offset] { return false }
    }
    return true
  }

  package func render(upTo end: Int) -> [UInt8] {
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

  /// Calls `body` for each full occurrence of `needle` (complete: true) and for each tail of
  /// the buffer that is a proper prefix of it (complete: false).
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

private func lowercasedASCII(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
}

private func uppercasedASCII(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
}
