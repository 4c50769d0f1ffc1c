/// Control characters made visible, for text from outside (a board's console, a LAVA log line)
/// on its way to a terminal or GitLab's log viewer: a BEL, an OSC title or hyperlink, a cursor
/// move or a fake GitLab section marker must show as what it is, not act.
public enum ControlCharacters {
  /// `text` with every control character except line feed and tab shown as its Unicode
  /// control picture (`␛`, `␇`, `␀`, …; C1 controls as `<U+009B>`), a carriage return before
  /// a line feed dropped, and, when `keepingColours`, ANSI SGR colour sequences
  /// (`ESC [ … m`) kept as they are.
  public static func visible(_ text: String, keepingColours: Bool) -> String {
    guard text.utf8.contains(where: mayBeControl) else { return text }
    let scalars = Array(text.unicodeScalars)
    var result = String.UnicodeScalarView()
    var index = 0
    while index < scalars.count {
      let scalar = scalars[index]
      switch scalar.value {
      case 0x0A, 0x09:
        result.append(scalar)
      case 0x0D where index + 1 < scalars.count && scalars[index + 1].value == 0x0A:
        break
      case 0x1B:
        if keepingColours, let end = colourSequenceEnd(scalars, from: index) {
          result.append(contentsOf: scalars[index...end])
          index = end
        } else {
          result.append("\u{241B}")
        }
      case 0x00..<0x20:
        result.append(Unicode.Scalar(0x2400 + scalar.value)!)
      case 0x7F:
        result.append("\u{2421}")
      case 0x80...0x9F:
        let hex = String(scalar.value, radix: 16, uppercase: true)
        result.append(contentsOf: "<U+00\(hex)>".unicodeScalars)
      default:
        result.append(scalar)
      }
      index += 1
    }
    return String(result)
  }

  /// A byte that is, or starts, a control character (0xC2 leads U+0080…U+00BF).
  private static func mayBeControl(_ byte: UInt8) -> Bool {
    (byte < 0x20 && byte != 0x0A && byte != 0x09) || byte == 0x7F || byte == 0xC2
  }

  /// The index of the `m` ending an SGR sequence that starts at `start` (an ESC), if it is one.
  private static func colourSequenceEnd(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
    guard start + 1 < scalars.count, scalars[start + 1] == "[" else { return nil }
    var index = start + 2
    // SGR parameters are digits, ';' and ':'; 64 of them is far more than any colour needs.
    while index < scalars.count, index - start < 64 {
      let scalar = scalars[index]
      if scalar == "m" { return index }
      guard ("0"..."9").contains(scalar) || scalar == ";" || scalar == ":" else { return nil }
      index += 1
    }
    return nil
  }
}
