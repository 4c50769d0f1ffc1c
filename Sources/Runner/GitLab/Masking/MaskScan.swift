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

  init(
    buffer: [UInt8], secrets: [[UInt8]], tokenPrefixes: [[UInt8]],
    urlParameterStarts: [[UInt8]], atEnd: Bool
  ) {
    self.buffer = buffer
    var hidden: [Run] = []
    // The earliest offset where an occurrence may begin that needs bytes not yet written.
    var undecided = buffer.count
    for secret in secrets {
      Self.forEachCandidate(of: secret, in: buffer) { start, complete in
        if complete {
          hidden.append(Run(range: start..<(start + secret.count), anchor: start))
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
          hidden.append(Run(range: tokenStart..<tokenEnd, anchor: start))
        }
      }
    }
    for start in urlParameterStarts {
      Self.forEachCandidate(of: start, in: buffer, ignoringCase: true) { position, complete in
        guard complete else {
          if !atEnd { undecided = min(undecided, position) }
          return
        }
        let valueStart = position + start.count
        var valueEnd = valueStart
        while valueEnd < buffer.count, !endsURLParameter(buffer[valueEnd]) { valueEnd += 1 }
        if valueEnd == buffer.count && !atEnd {
          undecided = min(undecided, position)
        } else if valueEnd > valueStart {
          hidden.append(Run(range: valueStart..<valueEnd, anchor: position))
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

  /// Calls `body` for each full occurrence of `needle` (complete: true) and for each tail of
  /// the buffer that is a proper prefix of it (complete: false).
  /// With `ignoringCase`, `needle` must be lower-case ASCII and start with a non-letter.
  private static func forEachCandidate(
    of needle: [UInt8], in buffer: [UInt8], ignoringCase: Bool = false,
    _ body: (Int, Bool) -> Void
  ) {
    guard let first = needle.first else { return }
    var start = 0
    while let found = buffer[start...].firstIndex(of: first) {
      let available = min(needle.count, buffer.count - found)
      let candidate = buffer[found..<(found + available)]
      let equal =
        ignoringCase
        ? candidate.lazy.map(lowercasedASCII).elementsEqual(needle[0..<available])
        : candidate.elementsEqual(needle[0..<available])
      if equal {
        body(found, available == needle.count)
      }
      start = found + 1
    }
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

private func lowercasedASCII(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
}
