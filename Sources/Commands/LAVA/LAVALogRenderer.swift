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

  static let reset = "\u{1B}[0;m"

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
    let head =
      prefix + LogColor.gray.rawValue + time + Self.reset + " " + style.tagColor.rawValue + style.tag
      + Self.reset + " "
    return texts.map { text in
      let body = Self.clean(text)
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

  /// Lines of a message; `\r\n` is one separator (one Character in Swift), and a lone `\r`
  /// ends a line too rather than letting target output overwrite what the job log shows.
  static func split(_ text: String) -> [String] {
    text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
  }

  /// A carriage return would let target output overwrite what the job log shows, and other
  /// control characters (BEL, OSC titles and links, cursor moves, a forged GitLab section
  /// marker) act on the viewer: they are shown, not passed on. The colours a board printed
  /// are kept, as GitLab renders them.
  static func clean(_ text: String) -> String {
    let text = text.contains("\r") ? text.replacingOccurrences(of: "\r", with: "") : text
    return ControlCharacters.visible(text, keepingColours: true)
  }
}
