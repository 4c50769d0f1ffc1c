import Foundation

/// Cuts LAVA log lines that are too long to pass on whole (a board printing megabytes without a
/// newline): each is kept up to the limit, at a character boundary, and ends with a marker
/// saying how long it was, so that the job log shows what happened.
package enum LAVALogLineLimit {
  package static func marker(bytes: Int) -> String { " … [line truncated: \(bytes) bytes]" }
  package static func marker(moreThan limit: String) -> String { " … [line truncated: more than \(limit)]" }

  /// `body` with every newline-terminated line longer than `limit` bytes cut and marked. A last
  /// piece without a newline is left as it is: it may be a line LAVA is still writing.
  package static func truncatingLongLines(_ body: Data, limit: Int) -> Data {
    guard body.count > limit else { return body }
    let newline = UInt8(ascii: "\n")
    var ranges: [Range<Int>] = []
    var start = body.startIndex
    while let end = body[start...].firstIndex(of: newline) {
      if end - start > limit { ranges.append(start..<end) }
      start = end + 1
    }
    guard !ranges.isEmpty else { return body }
    var result = Data()
    result.reserveCapacity(body.count)
    var copied = body.startIndex
    for range in ranges {
      result.append(body[copied..<range.lowerBound])
      result.append(prefix(of: body[range], maxBytes: limit))
      result.append(Data(marker(bytes: range.count).utf8))
      copied = range.upperBound
    }
    result.append(body[copied...])
    return result
  }

  /// At most `maxBytes` of `bytes`, not ending inside a UTF-8 sequence.
  package static func prefix(of bytes: Data, maxBytes: Int) -> Data {
    guard bytes.count > maxBytes else { return bytes }
    var end = bytes.startIndex + maxBytes
    // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
    while end > bytes.startIndex, bytes[end] & 0xC0 == 0x80 { end -= 1 }
    return bytes[bytes.startIndex..<end]
  }
}
