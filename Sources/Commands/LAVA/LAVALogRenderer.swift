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
    let time = Self.timeOfDay(entry.timestamp)
    let style = Self.style(of: entry.level)
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
    let head =
      prefix + LogColor.gray.rawValue + time + Self.reset + " " + style.tagColor.rawValue + style.tag
      + Self.reset + " "
    return texts.map { text in
      let body = Self.visible(Self.clean(text))
      if entry.level == "target", let kernel = Self.kernelTimestamp(body) {
        // `[    1.234567] …`: the timestamp dimmed, so that kernel messages stand out.
        return head + LogColor.gray.rawValue + body[kernel] + Self.reset + body[kernel.upperBound...] + "\n"
      }
      return head + (color.map { $0.rawValue + body + Self.reset } ?? body) + "\n"
    }.joined()
  }

  /// `2026-11-29T01:38:32.619219` → `01:38:32`; anything else is shown as LAVA sent it.
  static func timeOfDay(_ timestamp: String) -> String {
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
    guard text.hasPrefix("["), let close = text.firstIndex(of: "]") else { return nil }
    let inside = text[text.index(after: text.startIndex)..<close].drop { $0 == " " }
    guard let dot = inside.firstIndex(of: "."), !inside[..<dot].isEmpty,
      inside[..<dot].allSatisfy({ $0.isASCII && $0.isNumber }),
      inside[inside.index(after: dot)...].count == 6,
      inside[inside.index(after: dot)...].allSatisfy({ $0.isASCII && $0.isNumber })
    else { return nil }
    return text.startIndex..<text.index(after: close)
  }

  /// Control characters that would break the GitLab log shown instead of passed on: NUL and
  /// the other C0 controls as their Unicode pictures (`␀`, `␇`), DEL as `␡`, and escape
  /// sequences other than colours (SGR) and GitLab's `\e[0K` with their escape shown as `␛`
  /// (`␛[2J`, `␛c`). Tabs stay; the `\r` of a GitLab section marker stays.
  static func visible(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
      return text
    }
    var result = String.UnicodeScalarView()
    let scalars = Array(text.unicodeScalars)
    var index = 0
    while index < scalars.count {
      let scalar = scalars[index]
      if scalar == "\u{1B}", let end = keptSequenceEnd(scalars, from: index) {
        result.append(contentsOf: scalars[index...end])
        index = end + 1
        continue
      }
      if scalar == "\r", endsWithMarker(String(String.UnicodeScalarView(result))) {
        result.append(scalar)
      } else if scalar.value < 0x20 && scalar != "\t" {
        result.append(Unicode.Scalar(0x2400 + scalar.value)!)
      } else if scalar.value == 0x7F {
        result.append("\u{2421}")
      } else {
        result.append(scalar)
      }
      index += 1
    }
    return String(result)
  }

  /// The index of the last scalar of a colour sequence (`\e[…m`) or `\e[0K`/`\e[K` starting at
  /// `start`; nil for any other sequence.
  private static func keptSequenceEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
    guard start + 1 < scalars.count, scalars[start + 1] == "[" else { return nil }
    var index = start + 2
    while index < scalars.count, index - start < 64 {
      let scalar = scalars[index]
      if (scalar.value >= 0x30 && scalar.value <= 0x3B) { index += 1; continue }
      if scalar == "m" { return index }
      if scalar == "K"
        && String(String.UnicodeScalarView(scalars[(start + 2)..<index])).allSatisfy({ $0 == "0" })
      {
        return index
      }
      return nil
    }
    return nil
  }

  /// Lines of a message: `\n` and `\r\n` end a line. A lone `\r` does not: the pieces of a
  /// line the device rewrote (a progress bar, a prompt) stay one line, the `\r` shown as `␍` by
  /// ``visible(_:)``, so that nothing can overwrite what the job log shows.
  static func split(_ text: String) -> [String] {
    text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
      .map(String.init)
  }

  /// A line without the `\r`s it ends with (the device's line ending, not content).
  static func clean(_ text: String) -> String {
    guard text.hasSuffix("\r") else { return text }
    return String(text.reversed().drop { $0 == "\r" }.reversed())
  }

  /// Whether `text` ends with `section_start:1700000000:name` or `section_end:…`, with optional
  /// `[collapsed=true]`: what GitLab's marker has before its `\r`.
  static func endsWithMarker(_ text: String) -> Bool {
    text.range(of: markerBeforeReturn, options: .regularExpression) != nil
  }

  static let markerBeforeReturn = #"section_(start|end):[0-9]+:[A-Za-z0-9_.-]+(\[[A-Za-z0-9_=, ]*\])?$"#
}
