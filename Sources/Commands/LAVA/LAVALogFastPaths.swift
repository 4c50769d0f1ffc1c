#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Byte-level shortcuts for the LAVA log path, which sees every line of every log: each answers
/// the common case on the text's UTF-8 bytes and leaves any other case to the String code it
/// stands in front of, so the result is the same (the differential test of the log path checks
/// it against the code without them).
enum LAVALogFastPaths {
  /// Whether `text`'s bytes contain `needle`'s (an ASCII needle). False means the String and
  /// Foundation searches for it find nothing either; true means they may.
  static func mayContain(_ text: String, _ needle: StaticString) -> Bool {
    let count = needle.utf8CodeUnitCount
    guard count > 0 else { return true }
    // This runs on every target line: libc's memchr finds the needle's last byte (`_` in the
    // needles used, rare in logs) with vector instructions where a loop goes byte by byte, and
    // only there are the bytes before it compared.
    let last = needle.utf8Start[count - 1]
    return withBytes(of: text) { bytes in
      guard let base = bytes.baseAddress, bytes.count >= count else { return false }
      var from = count - 1
      while from < bytes.count, let found = memchr(base + from, Int32(last), bytes.count - from) {
        let end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        if memcmp(base + end - (count - 1), needle.utf8Start, count - 1) == 0 { return true }
        from = end + 1
      }
      return false
    }
  }

  /// Whether `text` has a line feed byte (and so may have a `\n` or `\r\n` character).
  static func hasLineFeed(_ text: String) -> Bool {
    withBytes(of: text) { $0.contains(0x0A) }
  }

  /// Whether `rendered` has a line to keep: a byte other than a line feed (a text of line
  /// feeds only splits into nothing; any other byte is in some piece, and bytes that are not a
  /// line feed do not make a `\n` character).
  static func hasLine(_ rendered: String) -> Bool {
    withBytes(of: rendered) { $0.contains { $0 != 0x0A } }
  }

  /// The pieces of `rendered` between line feeds, empty ones left out, as
  /// `rendered.split(separator: "\n", omittingEmptySubsequences: true)` gives them; nil when
  /// that split could differ from a byte split (a `\r` that may end in `\r\n`, a non-ASCII
  /// byte after a line feed that may combine with it).
  static func lines(of rendered: String) -> [Substring]? {
    var ends: [Int] = []
    let fine: Bool = withBytes(of: rendered) { bytes in
      for index in bytes.indices {
        switch bytes[index] {
        case 0x0D: return false
        case 0x0A:
          if index + 1 < bytes.count, bytes[index + 1] >= 0x80 { return false }
          ends.append(index)
        default: break
        }
      }
      return true
    }
    guard fine else { return nil }
    var pieces: [Substring] = []
    var start = 0
    let base = rendered.utf8.startIndex
    for end in ends + [rendered.utf8.count] {
      if end > start {
        let lower = rendered.utf8.index(base, offsetBy: start)
        let upper = rendered.utf8.index(base, offsetBy: end)
        pieces.append(rendered[lower..<upper])
      }
      start = end + 1
    }
    return pieces
  }

  /// `2026-11-29T01:38:32.619219` → `01:38:32`, as ``LAVALogRenderer/timeOfDay(_:)`` gives it;
  /// nil for anything but that shape (the String code decides then).
  static func timeOfDay(_ timestamp: String) -> String? {
    withBytes(of: timestamp) { bytes -> String? in
      guard isLAVATimestamp(bytes) else { return nil }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[11..<19]), as: UTF8.self)
    }
  }

  /// Year, month, day, hour, minute and second of a timestamp of LAVA's shape
  /// (`2026-11-29T01:38:32…`, a separator or nothing after the seconds); nil for anything else.
  static func dateParts(_ timestamp: String) -> [Int?]? {
    withBytes(of: timestamp) { bytes -> [Int?]? in
      guard isLAVATimestamp(bytes) else { return nil }
      func number(_ range: Range<Int>) -> Int {
        range.reduce(0) { $0 * 10 + Int(bytes[$1] - UInt8(ascii: "0")) }
      }
      return [
        number(0..<4), number(5..<7), number(8..<10), number(11..<13), number(14..<16), number(17..<19),
      ]
    }
  }

  /// `dddd-dd-dd[T ]dd:dd:dd`, then nothing, or a separator (`-T: .`) followed by nothing or
  /// an ASCII byte: every character up to there is one byte, so Character-based code sees the
  /// same fields.
  static func isLAVATimestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 19 else { return false }
    for index in 0..<19 {
      let byte = bytes[index]
      switch index {
      case 4, 7: guard byte == UInt8(ascii: "-") else { return false }
      case 10: guard byte == UInt8(ascii: "T") || byte == UInt8(ascii: " ") else { return false }
      case 13, 16: guard byte == UInt8(ascii: ":") else { return false }
      default: guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return false }
      }
    }
    guard bytes.count > 19 else { return true }
    switch bytes[19] {
    case UInt8(ascii: "-"), UInt8(ascii: "T"), UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "."):
      return bytes.count == 20 || bytes[20] < 0x80
    default:
      return false
    }
  }

  /// ``ControlCharacters/visible(_:keepingColours:)`` on the text's bytes, for the same result:
  /// each control character is one byte in UTF-8 (a C1 control two, `C2 80`…`C2 9F`), and an
  /// SGR colour sequence is ASCII.
  static func visible(_ text: String, keepingColours: Bool) -> String {
    withBytes(of: text) { bytes -> String in
      guard bytes.contains(where: needsShowing) else { return text }
      var result: [UInt8] = []
      result.reserveCapacity(bytes.count + 16)
      appendVisible(bytes, keepingColours: keepingColours, to: &result)
      return String(decoding: result, as: UTF8.self)
    }
  }

  /// Whether ``visible(_:keepingColours:)`` may show this byte otherwise.
  static func needsShowing(_ byte: UInt8) -> Bool {
    (byte < 0x20 && byte != 0x0A && byte != 0x09) || byte == 0x7F || byte == 0xC2
  }

  /// The index of the first byte from `from` that ``needsShowing(_:)``, or the end: eight
  /// bytes at a time while none of the eight is below 0x20, 0x7F or 0xC2 (exact "has a byte
  /// equal to / less than" word tests; a tab or line feed only sends the eight to the byte loop).
  static func shownRun(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
    guard let base = bytes.baseAddress else { return from }
    var index = from
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    while bytes.count - index >= 8 {
      let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
      let delete = word ^ (ones &* 0x7F)
      let c2 = word ^ (ones &* 0xC2)
      let found =
        ((word &- ones &* 0x20) & ~word & highs) | ((delete &- ones) & ~delete & highs)
        | ((c2 &- ones) & ~c2 & highs)
      if found != 0 { break }
      index += 8
    }
    while index < bytes.count, !needsShowing(base[index]) { index += 1 }
    return index
  }

  /// The bytes of ``visible(_:keepingColours:)`` of the text whose UTF-8 is `bytes` (whole
  /// characters), appended to `result`.
  static func appendVisible(
    _ bytes: UnsafeBufferPointer<UInt8>, keepingColours: Bool, to result: inout [UInt8]
  ) {
    var index = 0
    while index < bytes.count {
      // Runs of bytes shown as they are, copied at once.
      let run = shownRun(bytes, from: index)
      if run > index {
        result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<run]))
        index = run
        if index == bytes.count { break }
      }
      let byte = bytes[index]
      switch byte {
      case 0x0A, 0x09:
        result.append(byte)
      case 0x0D where index + 1 < bytes.count && bytes[index + 1] == 0x0A:
        break
      case 0x1B:
        if keepingColours, let end = colourSequenceEnd(bytes, from: index) {
          result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index...end]))
          index = end
        } else {
          appendScalar(0x241B, to: &result)
        }
      case 0x00..<0x20:
        appendScalar(0x2400 + UInt32(byte), to: &result)
      case 0x7F:
        appendScalar(0x2421, to: &result)
      case 0xC2 where index + 1 < bytes.count && (0x80...0x9F).contains(bytes[index + 1]):
        let hex = String(bytes[index + 1], radix: 16, uppercase: true)
        result.append(contentsOf: "<U+00\(hex)>".utf8)
        index += 1
      default:
        result.append(byte)
      }
      index += 1
    }
  }

  /// The index of the `m` ending an SGR sequence that starts at `start` (an ESC), if it is one.
  private static func colourSequenceEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
    guard start + 1 < bytes.count, bytes[start + 1] == UInt8(ascii: "[") else { return nil }
    var index = start + 2
    while index < bytes.count, index - start < 64 {
      let byte = bytes[index]
      if byte == UInt8(ascii: "m") { return index }
      guard isDigit(byte) || byte == UInt8(ascii: ";") || byte == UInt8(ascii: ":") else { return nil }
      index += 1
    }
    return nil
  }

  /// A scalar below U+10000 as UTF-8.
  private static func appendScalar(_ value: UInt32, to bytes: inout [UInt8]) {
    bytes.append(UInt8(0xE0 | value >> 12))
    bytes.append(UInt8(0x80 | value >> 6 & 0x3F))
    bytes.append(UInt8(0x80 | value & 0x3F))
  }

  enum Answer: Equatable {
    case no
    case at(Int)
    case unknown
  }

  /// Where the `[    1.234567]` a kernel message starts with ends (the UTF-8 offset after its
  /// `]`): `.no` when the text does not start with `[`, `.unknown` when it does but is not that
  /// shape in ASCII (the String code decides then).
  static func kernelTimestampEnd(_ text: String) -> Answer {
    withBytes(of: text, kernelTimestampEnd)
  }

  /// ``kernelTimestampEnd(_:)`` of the text whose UTF-8 is `bytes`.
  static func kernelTimestampEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Answer {
    guard bytes.first == UInt8(ascii: "[") else { return .no }
    var index = 1
    while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
    let integer = index
    while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    guard index > integer, index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return .unknown }
    index += 1
    let fraction = index
    while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    guard index - fraction == 6, index < bytes.count, bytes[index] == UInt8(ascii: "]") else {
      return .unknown
    }
    // A non-ASCII byte after `]` may be a mark that combines with it.
    guard index + 1 == bytes.count || bytes[index + 1] < 0x80 else { return .unknown }
    return .at(index + 1)
  }

  /// How many `\r` bytes `text` ends with, which is how many `\r` characters it ends with: a
  /// `\r` is a character of its own unless a line feed follows it, and these are last.
  static func trailingCarriageReturns(_ text: String) -> Int {
    withBytes(of: text) { bytes in
      var count = 0
      while count < bytes.count, bytes[bytes.count - 1 - count] == 0x0D { count += 1 }
      return count
    }
  }

  private static func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  static func withBytes<R>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
    var copy = text
    return copy.withUTF8(body)
  }
}
