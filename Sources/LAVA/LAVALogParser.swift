import Foundation
import HTTP
import Protocols
import RunnerCore
import YAML

/// Turns the body of LAVA's `jobs/<id>/logs/` reply into log lines, one per line of the body,
/// in order: none dropped, none merged.
///
/// Each line is a YAML sequence item `- {"dt": …, "lvl": …, "msg": …}`. Most are JSON after the
/// `- `, so JSON is tried first; a line that is not (LAVA writes YAML tags such as
/// `"endtc": ! "558"`) goes to the YAML fallback; a line neither can read is kept raw, with no
/// entry.
///
/// A line nested deeper than ``YAMLLimits/maximumDepth`` is kept raw without being decoded:
/// decoding and showing a value recurse once per level, and a log line is anyone's output.
///
/// A body that does not end with a newline may have been read while LAVA was still writing its
/// last line (LAVA writes the line index before the line). Such a last piece is returned only
/// when it parses as a whole entry; otherwise it is left out and not counted, so the next
/// request from the same line count reads it again, whole.
package enum LAVALogParser {
  package static func lines(in body: Data) -> [LAVALogLine] {
    body.withUnsafeBytes { raw in
      let bytes = raw.bindMemory(to: UInt8.self)
      var lines: [LAVALogLine] = []
      var start = 0
      guard let base = bytes.baseAddress else { return lines }
      while start < bytes.count {
        // memchr: libc finds the line feed with vector instructions.
        guard let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else {
          // The unterminated last piece: kept only when it is a whole entry.
          let last = line(UnsafeBufferPointer(rebasing: bytes[start...]))
          if last.entry != nil { lines.append(last) }
          break
        }
        let end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        lines.append(line(UnsafeBufferPointer(rebasing: bytes[start..<end])))
        start = end + 1
      }
      return lines
    }
  }

  /// One line of the body, without its newline: LAVA's usual shape read on its bytes
  /// (``LAVALogScanner``), anything else by the JSON decoder or libyaml.
  package static func line(_ bytes: UnsafeBufferPointer<UInt8>) -> LAVALogLine {
    let raw = String(decoding: bytes, as: UTF8.self)
    if let entry = scanned(bytes) { return LAVALogLine(raw: raw, entry: entry) }
    return decoded(raw)
  }

  /// One line of the body, without its newline.
  package static func line(_ raw: String) -> LAVALogLine {
    var text = raw
    if let entry = text.withUTF8(scanned) { return LAVALogLine(raw: raw, entry: entry) }
    return decoded(raw)
  }

  private static func scanned(_ bytes: UnsafeBufferPointer<UInt8>) -> LAVALogEntry? {
    LAVALogScanner.entry(
      bytes.last == UInt8(ascii: "\r") ? UnsafeBufferPointer(rebasing: bytes.dropLast()) : bytes)
  }

  /// A line the scanner leaves, read by the JSON decoder or libyaml.
  private static func decoded(_ raw: String) -> LAVALogLine {
    let text = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
    return LAVALogLine(raw: raw, entry: entry(ofJSONLine: text) ?? entry(ofYAMLLine: text))
  }

  package static func entry(ofJSONLine text: String) -> LAVALogEntry? {
    guard text.hasPrefix("- ") else { return nil }
    guard !nestsDeeper(text.utf8.dropFirst(2), than: YAMLLimits.standard.maximumDepth) else { return nil }
    let json = Data(text.utf8.dropFirst(2))
    guard let value = try? JSONDecoder().decode(LAVALogValue.self, from: json) else { return nil }
    return entry(of: value)
  }

  /// Whether the JSON text opens more than `limit` arrays and objects inside one another
  /// (brackets in strings do not count); one pass, no recursion.
  package static func nestsDeeper(_ json: Substring.UTF8View, than limit: Int) -> Bool {
    var depth = 0
    var inString = false
    var escaped = false
    for byte in json {
      if inString {
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "["), UInt8(ascii: "{"):
        depth += 1
        if depth > limit { return true }
      case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
      default: break
      }
    }
    return false
  }

  package static func entry(ofYAMLLine text: String) -> LAVALogEntry? {
    guard let value = LAVALogValue.yamlSequenceItem(text) else { return nil }
    return entry(of: value)
  }

  /// An entry from a parsed line; nil unless it is a mapping with `lvl` and `msg`.
  package static func entry(of value: LAVALogValue) -> LAVALogEntry? {
    guard case .map(let fields) = value, case .scalar(let level, _)? = fields["lvl"],
      let message = fields["msg"]
    else { return nil }
    var timestamp = ""
    if case .scalar(let dt, _)? = fields["dt"] { timestamp = dt }
    return LAVALogEntry(timestamp: timestamp, level: level, message: self.message(message, level: level))
  }

  package static func message(_ value: LAVALogValue, level: String) -> LAVALogMessage {
    switch value {
    case .scalar(let text, quoted: true):
      return .text(text)
    case .list(let items):
      var texts: [String] = []
      for item in items {
        guard case .scalar(let text, quoted: true) = item else { return .other(value.compactText) }
        texts.append(text)
      }
      return .lines(texts)
    case .map(let fields) where level == "results":
      return .result(fields.mapValues(\.plainText))
    default:
      return .other(value.compactText)
    }
  }
}

/// A value of a log line, as JSON or YAML gave it. Scalars keep their text (`558`, `1.5`,
/// `true`) and whether they were strings, which only matters for showing them compactly.
package indirect enum LAVALogValue: Sendable, Equatable, Decodable {
  case scalar(String, quoted: Bool)
  case null
  case list([LAVALogValue])
  case map([String: LAVALogValue])

  package init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let text = try? container.decode(String.self) {
      self = .scalar(text, quoted: true)
    } else if let flag = try? container.decode(Bool.self) {
      self = .scalar(flag ? "true" : "false", quoted: false)
    } else if let integer = try? container.decode(Int64.self) {
      self = .scalar(String(integer), quoted: false)
    } else if let number = try? container.decode(Double.self) {
      self = .scalar(String(number), quoted: false)
    } else if let items = try? container.decode([LAVALogValue].self) {
      self = .list(items)
    } else {
      self = .map(try container.decode([String: LAVALogValue].self))
    }
  }

  /// Scalars as they are, anything else compactly: for result fields.
  package var plainText: String {
    switch self {
    case .scalar(let text, _): text
    case .null: ""
    default: compactText
    }
  }

  /// JSON-like text on one line, keys sorted.
  package var compactText: String {
    switch self {
    case .scalar(let text, let quoted): quoted ? Self.quote(text) : text
    case .null: "null"
    case .list(let items): "[" + items.map(\.compactText).joined(separator: ", ") + "]"
    case .map(let fields):
      "{"
        + fields.sorted { $0.key < $1.key }.map { Self.quote($0.key) + ": " + $0.value.compactText }
        .joined(separator: ", ") + "}"
    }
  }

  private static func quote(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}
