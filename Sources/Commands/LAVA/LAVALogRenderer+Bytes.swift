import Protocols

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The renderer on bytes: LAVA's usual line (a text or a list of texts at a level this runner
/// knows, a timestamp of LAVA's shape) goes from the entry's UTF-8 straight into the page's
/// job log bytes, without a String per line or per piece. Anything else is left to the String
/// code (``LAVALogRenderer/renderIfShown(_:)``), and the bytes are the same either way (the
/// differential test of the log path checks it against the code before).
extension LAVALogRenderer {
  /// Appends what ``renderIfShown(_:)`` gives for `entry`, returning true; or returns false
  /// with `out` untouched when the entry is not one this path renders.
  func appendIfShown(_ entry: LAVALogEntry, to out: inout [UInt8]) -> Bool {
    guard levels.shows(entry.level) else { return true }
    let start = out.count
    guard appendRendered(entry, to: &out) else { return false }
    admit(from: start, level: entry.level, in: &out)
    return true
  }

  /// Appends what ``render(_:)`` gives for `entry`, returning true; or returns false with `out`
  /// untouched when the entry is not one this path renders.
  func appendRendered(_ entry: LAVALogEntry, to out: inout [UInt8]) -> Bool {
    guard let style = Self.byteStyle(entry.level) else { return false }
    let start = out.count
    guard appendRendered(entry, style: style, to: &out) else {
      out.removeSubrange(start...)
      return false
    }
    return true
  }

  /// What the command's LAVA_LOG_LIMIT (``volume``) lets through of the line rendered from
  /// `start` to the end of `out`, as ``renderIfShown(_:)`` admits it.
  func admit(from start: Int, level: String, in out: inout [UInt8]) {
    guard let volume else { return }
    let (note, admitted) = volume.admit(size: out.count - start, level: level)
    if !admitted { out.removeSubrange(start...) }
    if !note.isEmpty { out.insert(contentsOf: note.utf8, at: start) }
  }

  /// ``render(_:)`` of an entry of a known level, or false (with some bytes appended).
  private func appendRendered(_ entry: LAVALogEntry, style: ByteStyle, to out: inout [UInt8]) -> Bool {
    if deviceSections {
      // A device's section markers may pass through: the String code decides.
      switch entry.message {
      case .text(let text): if LAVALogFastPaths.mayContain(text, "section_") { return false }
      case .lines(let lines):
        if lines.contains(where: { LAVALogFastPaths.mayContain($0, "section_") }) { return false }
      default: return false
      }
    }
    let kernel = entry.level == "target"
    return LAVALogFastPaths.withBytes(of: entry.timestamp) { timestamp -> Bool in
      guard LAVALogFastPaths.isLAVATimestamp(timestamp) else { return false }
      let time = UnsafeBufferPointer(rebasing: timestamp[11..<19])
      func piece(_ text: String) -> Bool {
        LAVALogFastPaths.withBytes(of: text) { bytes in
          appendPieces(of: bytes, time: time, style: style, kernel: kernel, to: &out)
        }
      }
      switch entry.message {
      case .text(let text):
        return piece(text)
      case .lines(let lines):
        if lines.isEmpty { return piece("") }
        for line in lines where !piece(line) { return false }
        return true
      default:
        return false
      }
    }
  }

  /// One rendered line per piece of `text` between line feeds (``split(_:)``: a `\r\n` or a
  /// `\n` ends a piece; a line feed is a character of its own, or one with the `\r` before it),
  /// each without the `\r`s it ends with (``clean(_:keepingMarkers:)``).
  private func appendPieces(
    of text: UnsafeBufferPointer<UInt8>, time: UnsafeBufferPointer<UInt8>, style: ByteStyle, kernel: Bool,
    to out: inout [UInt8]
  ) -> Bool {
    var start = 0
    while true {
      var end = text.count
      if start < text.count, let base = text.baseAddress,
        let found = memchr(base + start, 0x0A, text.count - start)
      {
        end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
      }
      var last = end
      while last > start, text[last - 1] == 0x0D { last -= 1 }
      guard
        appendLine(
          UnsafeBufferPointer(rebasing: text[start..<last]), time: time, style: style, kernel: kernel,
          to: &out)
      else { return false }
      guard end < text.count else { return true }
      start = end + 1
    }
  }

  private func appendLine(
    _ body: UnsafeBufferPointer<UInt8>, time: UnsafeBufferPointer<UInt8>, style: ByteStyle, kernel: Bool,
    to out: inout [UInt8]
  ) -> Bool {
    var text = body[...]
    var timestampEnd = 0
    if kernel {
      // The body shown starts as the text does up to the `]` and the byte after it when these
      // are printable ASCII, which ``visible(_:keepingMarkers:)`` keeps as they are.
      switch LAVALogFastPaths.kernelTimestampEnd(body) {
      case .no: break
      case .unknown: return false
      case .at(let end):
        if end < body.count, body[end] < 0x20 || body[end] == 0x7F { return false }
        timestampEnd = end
      }
    }
    if !prefix.isEmpty {
      var prefix = self.prefix
      prefix.withUTF8 { out.append(contentsOf: $0) }
    }
    Self.append(LogColor.gray, to: &out)
    out.append(contentsOf: time)
    out.append(contentsOf: style.head)
    if timestampEnd > 0 {
      Self.append(LogColor.gray, to: &out)
      out.append(contentsOf: UnsafeBufferPointer(rebasing: body[..<timestampEnd]))
      Self.appendReset(to: &out)
      text = body[timestampEnd...]
      LAVALogFastPaths.appendVisible(UnsafeBufferPointer(rebasing: text), keepingColours: true, to: &out)
    } else if let color = style.textColor {
      Self.append(color, to: &out)
      LAVALogFastPaths.appendVisible(UnsafeBufferPointer(rebasing: text), keepingColours: true, to: &out)
      Self.appendReset(to: &out)
    } else {
      LAVALogFastPaths.appendVisible(UnsafeBufferPointer(rebasing: text), keepingColours: true, to: &out)
    }
    out.append(UInt8(ascii: "\n"))
    return true
  }

  /// ``Style`` as bytes: `head` is what follows the time, the reset, a space, the coloured
  /// tag and a space, in one piece.
  struct ByteStyle {
    var head: StaticString
    var textColor: LogColor?
  }

  /// The style of ``style(of:)`` for the levels it knows; nil for others (their tag is made
  /// from the level's name by the String code).
  static func byteStyle(_ level: String) -> ByteStyle? {
    switch level {
    case "target": ByteStyle(head: "\u{1B}[0;m \u{1B}[34;1mtgt \u{1B}[0;m ", textColor: nil)
    case "info": ByteStyle(head: "\u{1B}[0;m \u{1B}[36;1minfo\u{1B}[0;m ", textColor: nil)
    case "debug": ByteStyle(head: "\u{1B}[0;m \u{1B}[90mdbg \u{1B}[0;m ", textColor: .gray)
    case "input": ByteStyle(head: "\u{1B}[0;m \u{1B}[35;1min  \u{1B}[0;m ", textColor: .magenta)
    case "results": ByteStyle(head: "\u{1B}[0;m \u{1B}[36;1mres \u{1B}[0;m ", textColor: nil)
    case "warning": ByteStyle(head: "\u{1B}[0;m \u{1B}[33;1mwarn\u{1B}[0;m ", textColor: .yellow)
    case "error": ByteStyle(head: "\u{1B}[0;m \u{1B}[31;1merr \u{1B}[0;m ", textColor: .red)
    case "exception": ByteStyle(head: "\u{1B}[0;m \u{1B}[31;1mexc \u{1B}[0;m ", textColor: .red)
    case "feedback": ByteStyle(head: "\u{1B}[0;m \u{1B}[35;1mfdbk\u{1B}[0;m ", textColor: nil)
    default: nil
    }
  }

  private static func append(_ color: LogColor, to out: inout [UInt8]) {
    out.append(contentsOf: code(of: color))
  }

  /// ``LogColor``'s raw values as static bytes.
  private static func code(of color: LogColor) -> StaticString {
    switch color {
    case .red: "\u{1B}[31;1m"
    case .green: "\u{1B}[32;1m"
    case .yellow: "\u{1B}[33;1m"
    case .blue: "\u{1B}[34;1m"
    case .magenta: "\u{1B}[35;1m"
    case .cyan: "\u{1B}[36;1m"
    case .gray: "\u{1B}[90m"
    }
  }

  private static func appendReset(to out: inout [UInt8]) {
    out.append(contentsOf: "\u{1B}[0;m" as StaticString)
  }
}

extension [UInt8] {
  fileprivate mutating func append(contentsOf text: StaticString) {
    append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }
}
