import Protocols

/// LAVA's usual log line, read on its bytes: `- {"dt": "…", "lvl": "…", "msg": …}` where the
/// message is a JSON string, a list of JSON strings, or (for `results`) a mapping of JSON
/// strings. That is nearly every line LAVA writes, and reading it here costs one pass over its
/// bytes, without Foundation's JSON decoder or any String bridging.
///
/// Anything else gives nil, and ``LAVALogParser`` reads the line as before (JSON, then libyaml):
/// keys in another order or spelled with escapes, numbers, nulls, nested values, a level
/// other than `results` with a mapping, YAML tags, control characters not escaped, a lone UTF-16
/// surrogate, a key given twice. So this scanner only has to be right on what it accepts, and
/// for that it gives what the JSON decoder gives (checked against it by a differential test).
package enum LAVALogScanner {
  /// The entry of `line` (without its newline and its last `\r`), or nil when the line is not
  /// of the usual shape.
  package static func entry(_ line: UnsafeBufferPointer<UInt8>) -> LAVALogEntry? {
    var cursor = Cursor(bytes: line)
    guard cursor.take(UInt8(ascii: "-")), cursor.take(UInt8(ascii: " ")) else { return nil }
    cursor.skipSpace()
    guard cursor.take(UInt8(ascii: "{")), cursor.key(dt), let timestamp = cursor.string(),
      cursor.comma(), cursor.key(lvl), let level = cursor.string(),
      cursor.comma(), cursor.key(msg), let message = cursor.message(results: level == "results")
    else { return nil }
    cursor.skipSpace()
    guard cursor.take(UInt8(ascii: "}")) else { return nil }
    cursor.skipSpace()
    guard cursor.atEnd else { return nil }
    return LAVALogEntry(timestamp: timestamp, level: level, message: message)
  }

  // Static strings: no lazily initialised global to check on every line.
  private static let dt: StaticString = #""dt""#
  private static let lvl: StaticString = #""lvl""#
  private static let msg: StaticString = #""msg""#

  private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Unescaped string bytes, reused from string to string.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
      self.bytes = bytes
    }

    var atEnd: Bool { index == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
      guard index < bytes.count, bytes[index] == byte else { return false }
      index += 1
      return true
    }

    /// JSON whitespace; a line has no line feed.
    mutating func skipSpace() {
      while index < bytes.count {
        switch bytes[index] {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
        default: return
        }
      }
    }

    mutating func comma() -> Bool {
      skipSpace()
      guard take(UInt8(ascii: ",")) else { return false }
      skipSpace()
      return true
    }

    /// `"name"` then `:`, the key written without escapes.
    mutating func key(_ quoted: StaticString) -> Bool {
      skipSpace()
      let count = quoted.utf8CodeUnitCount
      guard bytes.count - index >= count else { return false }
      for offset in 0..<count where bytes[index + offset] != quoted.utf8Start[offset] { return false }
      index += count
      skipSpace()
      guard take(UInt8(ascii: ":")) else { return false }
      skipSpace()
      return true
    }

    mutating func message(results: Bool) -> LAVALogMessage? {
      guard index < bytes.count else { return nil }
      switch bytes[index] {
      case UInt8(ascii: "\""):
        return string().map(LAVALogMessage.text)
      case UInt8(ascii: "["):
        index += 1
        var lines: [String] = []
        skipSpace()
        if take(UInt8(ascii: "]")) { return .lines(lines) }
        while true {
          skipSpace()
          guard let text = string() else { return nil }
          lines.append(text)
          skipSpace()
          if take(UInt8(ascii: "]")) { return .lines(lines) }
          guard take(UInt8(ascii: ",")) else { return nil }
        }
      case UInt8(ascii: "{") where results:
        index += 1
        var fields: [String: String] = [:]
        skipSpace()
        if take(UInt8(ascii: "}")) { return .result(fields) }
        while true {
          skipSpace()
          guard let key = string() else { return nil }
          skipSpace()
          guard take(UInt8(ascii: ":")) else { return nil }
          skipSpace()
          guard let value = string(), fields.updateValue(value, forKey: key) == nil else { return nil }
          skipSpace()
          if take(UInt8(ascii: "}")) { return .result(fields) }
          guard take(UInt8(ascii: ",")) else { return nil }
        }
      default:
        return nil
      }
    }

    /// A JSON string at the cursor, unescaped; nil when there is none or it is one the JSON
    /// decoder might read otherwise (a raw control character, a lone surrogate, a bad escape).
    mutating func string() -> String? {
      guard take(UInt8(ascii: "\"")) else { return nil }
      let start = index
      // The common case: no escape, the bytes are the text.
      index = plainRun(from: index)
      guard index < bytes.count else { return nil }
      if bytes[index] == UInt8(ascii: "\"") {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        index += 1
        return text
      }
      guard bytes[index] == UInt8(ascii: "\\") else { return nil }
      scratch.removeAll(keepingCapacity: true)
      scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
      while index < bytes.count {
        // Bytes up to the next quote, backslash or control character, copied at once.
        let run = plainRun(from: index)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<run]))
        index = run
        guard index < bytes.count else { return nil }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""):
          return String(decoding: scratch, as: UTF8.self)
        case UInt8(ascii: "\\"):
          guard unescape() else { return nil }
        default:
          return nil
        }
      }
      return nil
    }

    /// The index of the first quote, backslash or control character (below 0x20) from `from`,
    /// or the end: eight bytes at a time while none of the eight is one of them.
    private func plainRun(from: Int) -> Int {
      guard let base = bytes.baseAddress else { return from }
      var index = from
      let ones: UInt64 = 0x0101_0101_0101_0101
      let highs: UInt64 = 0x8080_8080_8080_8080
      while bytes.count - index >= 8 {
        let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
        // A zero byte in word ^ "\"…, word ^ "\\"…, or a byte below 0x20: the classic
        // "has a byte less than n" test, which is exact about whether there is one.
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let found =
          ((quote &- ones) & ~quote & highs) | ((backslash &- ones) & ~backslash & highs)
          | ((word &- ones &* 0x20) & ~word & highs)
        if found != 0 { break }
        index += 8
      }
      while index < bytes.count {
        let byte = base[index]
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return index }
        index += 1
      }
      return index
    }

    /// The escape after a backslash, appended to `scratch` as UTF-8.
    private mutating func unescape() -> Bool {
      guard index < bytes.count else { return false }
      let byte = bytes[index]
      index += 1
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
      case UInt8(ascii: "b"): scratch.append(0x08)
      case UInt8(ascii: "f"): scratch.append(0x0C)
      case UInt8(ascii: "n"): scratch.append(0x0A)
      case UInt8(ascii: "r"): scratch.append(0x0D)
      case UInt8(ascii: "t"): scratch.append(0x09)
      case UInt8(ascii: "u"):
        guard let unit = hex4() else { return false }
        var value = UInt32(unit)
        if (0xD800..<0xDC00).contains(unit) {
          guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
            (0xDC00..<0xE000).contains(low)
          else { return false }
          value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        } else if (0xDC00..<0xE000).contains(unit) {
          return false
        }
        appendUTF8(value)
      default:
        return false
      }
      return true
    }

    private mutating func hex4() -> UInt16? {
      guard bytes.count - index >= 4 else { return nil }
      var value: UInt16 = 0
      for _ in 0..<4 {
        let byte = bytes[index]
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt16(digit)
        index += 1
      }
      return value
    }

    private mutating func appendUTF8(_ value: UInt32) {
      switch value {
      case 0..<0x80:
        scratch.append(UInt8(value))
      case 0x80..<0x800:
        scratch.append(UInt8(0xC0 | value >> 6))
        scratch.append(UInt8(0x80 | value & 0x3F))
      case 0x800..<0x10000:
        scratch.append(UInt8(0xE0 | value >> 12))
        scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
        scratch.append(UInt8(0x80 | value & 0x3F))
      default:
        scratch.append(UInt8(0xF0 | value >> 18))
        scratch.append(UInt8(0x80 | value >> 12 & 0x3F))
        scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
        scratch.append(UInt8(0x80 | value & 0x3F))
      }
    }
  }
}
