import Foundation
import Protocols

/// Turns LAVA log lines into job log text: one tagged, coloured line per line of the message,
/// so that levels stay apart even without colours, and nothing LAVA sent is dropped.
///
/// ```
/// 01:38:32 info start: 1 tftp-deploy (timeout 00:02:00)
/// 01:38:40 tgt  Linux version 6.1.0
/// 01:38:45 res  ✔ 0_smoke/uname: pass
/// ```
struct LAVALogRenderer: Sendable {
  /// Put before every line, e.g. `[12] ` when several LAVA jobs share the job log.
  var prefix: String = ""

  /// Whether whole GitLab section markers the device prints pass through (see ``visible(_:keepingMarkers:)``).
  /// Off: a board must not fold or forge sections of the job log (issue 11, finding 13).
  var deviceSections = false

  /// The levels shown by ``renderIfShown(_:)``.
  var levels: LAVALogLevels = .all

  static let reset = "\u{1B}[0;m"

  /// The line as ``render(_:)`` shows it, or nothing when its level is not shown (a line that
  /// could not be parsed is always shown).
  func renderIfShown(_ line: LAVALogLine) -> String {
    let level = line.entry?.level
    if let level, !levels.shows(level) { return "" }
    guard let volume else { return render(line) }
    return volume.admit(render(line), level: level)
  }

  /// The command's LAVA_LOG_LIMIT budget, shared by the jobs it follows.
  var volume: LAVALogVolume?

  func render(_ line: LAVALogLine) -> String {
    guard let entry = line.entry else {
      return prefix + LogColor.gray.rawValue + "         raw  " + Self.reset + Self.clean(line.raw) + "\n"
    }
    let time = Self.clean(Self.timeOfDay(entry.timestamp))
    let style = Self.style(of: Self.clean(entry.level))
    let texts: [String]
    var color = style.textColor
    switch entry.message {
    case .text(let text):
      texts = Self.split(text)
    case .lines(let lines):
      texts = lines.isEmpty ? [""] : lines.flatMap(Self.split)
    case .other(let text):
      texts = [text]
    case .result(let fields):
      let (text, outcomeColor) = Self.result(fields)
      texts = [text]
      color = outcomeColor
    }
    var head = prefix
    head += LogColor.gray.rawValue
    head += time
    head += Self.reset
    head += " "
    head += style.tagColor.rawValue
    head += style.tag
    head += Self.reset
    head += " "
    // One string appended to, rather than a string per piece.
    var rendered = ""
    for text in texts {
      let body = Self.clean(text, keepingMarkers: deviceSections)
      rendered += head
      if entry.level == "target", let kernel = Self.kernelTimestamp(body) {
        // `[    1.234567] …`: the timestamp dimmed, so that kernel messages stand out.
        rendered += LogColor.gray.rawValue
        rendered += body[kernel]
        rendered += Self.reset
        rendered += body[kernel.upperBound...]
      } else if let color {
        rendered += color.rawValue
        rendered += body
        rendered += Self.reset
      } else {
        rendered += body
      }
      rendered += "\n"
    }
    return rendered
  }

  /// `2026-11-29T01:38:32.619219` → `01:38:32`; anything else is shown as LAVA sent it.
  static func timeOfDay(_ timestamp: String) -> String {
    if let time = LAVALogFastPaths.timeOfDay(timestamp) { return time }
    guard let separator = timestamp.firstIndex(where: { $0 == "T" || $0 == " " }) else { return timestamp }
    let time = timestamp[timestamp.index(after: separator)...].prefix(8)
    let isClock =
      time.count == 8
      && time.enumerated().allSatisfy { index, character in
        index % 3 == 2 ? character == ":" : character.isASCII && character.isNumber
      }
    return isClock ? String(time) : timestamp
  }

  struct Style {
    var tag: String
    var tagColor: LogColor
    /// Nil keeps the message in the log's default colour (target output, info).
    var textColor: LogColor?
  }

  static func style(of level: String) -> Style {
    switch level {
    case "info": Style(tag: "info", tagColor: .cyan, textColor: nil)
    case "debug": Style(tag: "dbg ", tagColor: .gray, textColor: .gray)
    case "target": Style(tag: "tgt ", tagColor: .blue, textColor: nil)
    case "input": Style(tag: "in  ", tagColor: .magenta, textColor: .magenta)
    case "results": Style(tag: "res ", tagColor: .cyan, textColor: nil)
    case "warning": Style(tag: "warn", tagColor: .yellow, textColor: .yellow)
    case "error": Style(tag: "err ", tagColor: .red, textColor: .red)
    case "exception": Style(tag: "exc ", tagColor: .red, textColor: .red)
    case "feedback": Style(tag: "fdbk", tagColor: .magenta, textColor: nil)
    default:
      // A level this runner does not know yet: keep its name visible.
      Style(tag: String((level + "    ").prefix(4)), tagColor: .gray, textColor: nil)
    }
  }

  /// `✔ definition/case: pass (12 ms)`, and for the `lava` suite's job result its error.
  static func result(_ fields: [String: String]) -> (String, LogColor?) {
    let outcome = fields["result"] ?? "unknown"
    let (mark, color): (String, LogColor?) =
      switch outcome {
      case "pass": ("✔", .green)
      case "fail": ("✘", .red)
      case "skip": ("–", .yellow)
      default: ("?", nil)
      }
    var name = fields["case"] ?? "?"
    if let definition = fields["definition"], !definition.isEmpty { name = definition + "/" + name }
    var text = "\(mark) \(name): \(outcome)"
    if let measurement = fields["measurement"], !measurement.isEmpty {
      text += " (\(measurement)\(fields["units"].map { " " + $0 } ?? ""))"
    }
    if let errorType = fields["error_type"], !errorType.isEmpty {
      text += " [\(errorType)\(fields["error_msg"].map { ": " + $0 } ?? "")]"
    }
    return (text, color)
  }

  /// The `[    1.234567]` a kernel message starts with, if `text` is one.
  static func kernelTimestamp(_ text: String) -> Range<String.Index>? {
    switch LAVALogFastPaths.kernelTimestampEnd(text) {
    case .no: return nil
    case .at(let end): return text.startIndex..<text.utf8.index(text.startIndex, offsetBy: end)
    case .unknown: break
    }
    guard text.hasPrefix("["), let close = text.firstIndex(of: "]") else { return nil }
    let inside = text[text.index(after: text.startIndex)..<close].drop { $0 == " " }
    guard let dot = inside.firstIndex(of: "."), !inside[..<dot].isEmpty,
      inside[..<dot].allSatisfy({ $0.isASCII && $0.isNumber }),
      inside[inside.index(after: dot)...].count == 6,
      inside[inside.index(after: dot)...].allSatisfy({ $0.isASCII && $0.isNumber })
    else { return nil }
    return text.startIndex..<text.index(after: close)
  }

  /// Control characters shown instead of passed on, with the project's helper
  /// (``ControlCharacters``: `␀`, `␇`, `␛[2J`, a lone `\r` as `␍`), colours kept, and, when
  /// `keepingMarkers`, one exception: a whole GitLab section marker the device printed
  /// (`\e[0Ksection_start:<time>:<name>[options]\r\e[0K`) passes through untouched, so that the
  /// board's own sections work in the job log. A piece of one is shown like any other text.
  static func visible(_ text: String, keepingMarkers: Bool = false) -> String {
    guard keepingMarkers, text.contains("section_"),
      let regex = try? NSRegularExpression(pattern: deviceMarker)
    else { return LAVALogFastPaths.visible(text, keepingColours: true) }
    let whole = text as NSString
    var result = ""
    var last = 0
    for match in regex.matches(in: text, range: NSRange(location: 0, length: whole.length)) {
      result += ControlCharacters.visible(
        whole.substring(with: NSRange(location: last, length: match.range.location - last)),
        keepingColours: true)
      result += whole.substring(with: match.range)
      last = match.range.location + match.range.length
    }
    return result
      + ControlCharacters.visible(whole.substring(from: last), keepingColours: true)
  }

  /// A whole GitLab section marker, as GitLab's log parser reads it.
  static let deviceMarker =
    #"\x1B\[0Ksection_(start|end):[0-9]+:[A-Za-z0-9_.-]+(\[[A-Za-z0-9_=, ]*\])?\r\x1B\[0K"#

  /// Lines of a message: `\n` and `\r\n` end a line. A lone `\r` does not: the pieces of a
  /// line the device rewrote (a progress bar, a prompt) stay one line, the `\r` shown as `␍` by
  /// ``visible(_:)``, so that nothing can overwrite what the job log shows.
  static func split(_ text: String) -> [String] {
    guard LAVALogFastPaths.hasLineFeed(text) else { return [text] }
    return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
      .map(String.init)
  }

  /// A line as shown: without the `\r`s it ends with (the device's line ending, not content),
  /// its control characters made visible (``visible(_:)``).
  static func clean(_ text: String, keepingMarkers: Bool = false) -> String {
    let trailing = LAVALogFastPaths.trailingCarriageReturns(text)
    guard trailing > 0 else { return visible(text, keepingMarkers: keepingMarkers) }
    let end = text.utf8.index(text.utf8.endIndex, offsetBy: -trailing)
    return visible(String(text[..<end]), keepingMarkers: keepingMarkers)
  }
}
