import Foundation
import TestSupport

/// A generated LAVA job log of a given size, the same bytes for a given seed: kernel and shell
/// lines at the `target` level, some `debug`/`info` lines, one `results` line in 500, with
/// characters JSON escapes (quotes, backslashes) and non-ASCII text, in LAVA's
/// `- {"dt": …, "lvl": …, "msg": …}` shape. The last line carries `endMarker`.
struct LogCorpus {
  /// Lines in the order sent, each without its newline.
  var lines: [String] = []
  /// `offsets[i]`: the bytes of the lines before line i (with their newlines).
  var offsets: [Int] = [0]
  let endMarker: String

  var bytes: Int { offsets.last! }

  init(bytes target: Int, seed: UInt64, endMarker: String) {
    self.endMarker = endMarker
    var generator = SplitMix64(seed: seed)
    let words = [
      "usb", "1-1:", "new", "high-speed", "device", "number", "using", "ehci-platform", "mmc0:", "card",
      "eth0:",
      "link", "up", "Freeing", "unused", "kernel", "memory:", "systemd[1]:", "Started", "udev", "Kernel",
      "Device", "Manager.", "\"quoted\"", "C:\\path\\to", "tâche", "réussie", "✓", "ok", "0x1f3c", "[drm]",
    ]
    func next(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
    var index = 0
    while offsets.last! < target {
      let second = Double(index) * 0.0007
      let dt = String(
        format: "2026-11-30T18:%02d:%09.6f", Int(second / 60) % 60, second.truncatingRemainder(dividingBy: 60)
      )
      let line: String
      if index % 500 == 499 {
        line =
          #"- {"dt": "\#(dt)", "lvl": "results", "msg": {"case": "case-\#(index)", "definition": "1_smoke", "result": "pass"}}"#
      } else {
        let level = index % 50 == 0 ? "debug" : (index % 37 == 0 ? "info" : "target")
        var message = String(format: "[%8.6f]", second)
        for _ in 0..<(3 + next(25)) { message += " " + words[next(words.count)] }
        line = "- {\"dt\": \"\(dt)\", \"lvl\": \"\(level)\", \"msg\": \"\(Self.jsonEscaped(message))\"}"
      }
      append(line)
      index += 1
    }
    append(#"- {"dt": "2026-11-30T19:00:00.000000", "lvl": "target", "msg": "\#(endMarker)"}"#)
  }

  private mutating func append(_ line: String) {
    lines.append(line)
    offsets.append(offsets.last! + line.utf8.count + 1)
  }

  static func jsonEscaped(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
  }

  /// The lines cut into pieces of about `bytes` each, for the played worker's POSTs.
  func pieces(of bytes: Int) -> [ArraySlice<String>] {
    var result: [ArraySlice<String>] = []
    var start = 0
    while start < lines.count {
      var end = start
      while end < lines.count, offsets[end + 1] - offsets[start] < bytes { end += 1 }
      end = max(end, start + 1)
      result.append(lines[start..<end])
      start = end
    }
    return result
  }

  /// How many lines from the start make up at least `bytes`.
  func lineCount(covering bytes: Int) -> Int {
    offsets.firstIndex { $0 >= bytes } ?? lines.count
  }
}
