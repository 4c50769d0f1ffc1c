import Foundation
import Protocols

/// Sections on bytes: a line that opens, closes or holds nothing (nearly every line: not a
/// top-level action's `start:`/`end:`, no LAVA signal, no GitLab section marker, no results
/// mapping) is rendered by ``LAVALogRenderer/appendRendered(_:to:)`` straight into the page's
/// bytes and kept in the open sections as bytes; the repeats of a target line are counted on
/// bytes. Any other line goes through ``LAVALogSections/consume(_:)`` as before, with the same
/// state, so the job log is the same bytes either way (checked by the differential test of the
/// log path).
extension LAVALogSections {
  /// Appends the job log text of one line, as ``consume(_:)`` gives it.
  mutating func consume(_ line: LAVALogLine, into out: inout [UInt8]) {
    guard !consumeUsual(line, into: &out) else { return }
    var text = consume(line)
    text.withUTF8 { out.append(contentsOf: $0) }
  }

  /// ``consume(_:)`` of a line that changes no section, appended to `out`; false, with nothing
  /// changed, for a line that may change one or that the byte renderer leaves.
  private mutating func consumeUsual(_ line: LAVALogLine, into out: inout [UInt8]) -> Bool {
    guard heldMarker == nil, let entry = line.entry else { return false }
    let target: String?
    switch entry.message {
    case .text(let text):
      let plain = LAVALogFastPaths.withBytes(of: text) { bytes -> Bool in
        switch entry.level {
        case "info": !Self.starts(bytes, with: "start: ") && !Self.starts(bytes, with: "end: ")
        case "target":
          !LAVALogFastPaths.mayContain(text, "<LAVA_SIGNAL_")
            && !LAVALogFastPaths.mayContain(text, "section_")
        case "debug": !Self.starts(bytes, with: "Received signal: <")
        default: true
        }
      }
      guard plain else { return false }
      target = entry.level == "target" ? text : nil
    case .lines:
      target = nil
    default:
      return false
    }
    guard let seconds = Self.seconds(of: entry.timestamp) else { return false }
    // The device printing the same line again: String equality is byte equality for ASCII
    // text, and identical bytes are equal; anything else is left to the String code.
    var same = false
    if let target, let last = lastTarget {
      switch Self.equal(target, last) {
      case true?: same = true
      case false?: same = false
      case nil: return false
      }
    }
    if same && repeats + 1 >= Self.shownRepeats {
      repeats += 1
      return true
    }
    let start = out.count
    let shown = renderer.levels.shows(entry.level)
    if shown, !renderer.appendRendered(entry, to: &out) { return false }
    var lineStart = start
    if same {
      repeats += 1
    } else {
      let note = repeatNote()
      lastTarget = target
      repeats = 0
      if !note.isEmpty {
        out.insert(contentsOf: note.utf8, at: start)
        lineStart += note.utf8.count
      }
    }
    lastDate = Date(timeIntervalSince1970: TimeInterval(seconds))
    guard shown else { return true }
    renderer.admit(from: lineStart, level: entry.level, in: &out)
    out.withUnsafeBufferPointer { keep(bytes: UnsafeBufferPointer(rebasing: $0[lineStart...])) }
    return true
  }

  /// ``date(_:)`` in seconds, for a timestamp of LAVA's shape; nil for any other (the String
  /// code decides then).
  static func seconds(of timestamp: String) -> Int? {
    LAVALogFastPaths.withBytes(of: timestamp) { bytes -> Int? in
      guard LAVALogFastPaths.isLAVATimestamp(bytes) else { return nil }
      func number(_ range: Range<Int>) -> Int {
        var value = 0
        for index in range { value = value * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
        return value
      }
      return seconds(
        number(0..<4), number(5..<7), number(8..<10), number(11..<13), number(14..<16), number(17..<19))
    }
  }

  /// Whether two texts are equal as Strings (canonically equivalent), when their bytes tell;
  /// nil when they do not. Identical bytes are equal. Where the bytes first differ, if both
  /// have an ASCII byte there (or one has ended and the other has an ASCII byte), they are not
  /// equal: an ASCII character never combines with or reorders around what precedes it, so the
  /// decomposed forms of both are the common part's, then these different characters.
  static func equal(_ a: String, _ b: String) -> Bool? {
    LAVALogFastPaths.withBytes(of: a) { first in
      LAVALogFastPaths.withBytes(of: b) { second -> Bool? in
        let common = min(first.count, second.count)
        var index = 0
        while index < common, first[index] == second[index] { index += 1 }
        if index == first.count && index == second.count { return true }
        let x = index < first.count ? first[index] : 0
        let y = index < second.count ? second[index] : 0
        return x < 0x80 && y < 0x80 ? false : nil
      }
    }
  }

  /// Whether the text starts with an ASCII prefix (then so do its Characters, and only then).
  private static func starts(_ bytes: UnsafeBufferPointer<UInt8>, with prefix: StaticString) -> Bool {
    let count = prefix.utf8CodeUnitCount
    return bytes.count >= count && memcmp(bytes.baseAddress!, prefix.utf8Start, count) == 0
  }
}
