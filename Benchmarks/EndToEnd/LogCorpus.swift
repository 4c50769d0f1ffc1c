import Foundation
import TestSupport

/// A generated LAVA job log of a given size, the same bytes for a given seed: kernel and shell
/// lines at the `target` level, some `debug`/`info` lines, one `results` line in 500, with
/// characters JSON escapes (quotes, backslashes) and non-ASCII text, in LAVA's
/// `- {"dt": …, "lvl": …, "msg": …}` shape. The last line carries `endMarker`.
struct LogCorpus: Sendable {
  /// The log as LAVA stores it (`output.yaml`): every line followed by a newline.
  let text: Data
  /// `offsets[i]`: the bytes of the lines before line i (with their newlines); the last one is
  /// the size of `text`.
  let offsets: [Int]
  let endMarker: String

  var bytes: Int { offsets.last! }
  var lineCount: Int { offsets.count - 1 }

  /// The marker of the last line: fixed by the seed and the size, so that a cached log is the
  /// one these settings make.
  static func endMarker(bytes: Int, seed: UInt64) -> String { "e2e-benchmark-end-\(seed)-\(bytes)" }

  init(bytes target: Int, seed: UInt64) {
    let endMarker = Self.endMarker(bytes: target, seed: seed)
    var generator = SplitMix64(seed: seed)
    let words = [
      "usb", "1-1:", "new", "high-speed", "device", "number", "using", "ehci-platform", "mmc0:", "card",
      "eth0:",
      "link", "up", "Freeing", "unused", "kernel", "memory:", "systemd[1]:", "Started", "udev", "Kernel",
      "Device", "Manager.", "\"quoted\"", "C:\\path\\to", "tâche", "réussie", "✓", "ok", "0x1f3c", "[drm]",
    ]
    func next(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
    var text = Data()
    text.reserveCapacity(target + 4096)
    var offsets = [0]
    func append(_ line: String) {
      text.append(contentsOf: line.utf8)
      text.append(10)
      offsets.append(text.count)
    }
    var index = 0
    while text.count < target {
      let second = Double(index) * 0.0007
      let dt = String(
        format: "2026-11-30T18:%02d:%09.6f", Int(second / 60) % 60, second.truncatingRemainder(dividingBy: 60)
      )
      if index % 500 == 499 {
        append(
          #"- {"dt": "\#(dt)", "lvl": "results", "msg": {"case": "case-\#(index)", "definition": "1_smoke", "result": "pass"}}"#
        )
      } else {
        let level = index % 50 == 0 ? "debug" : (index % 37 == 0 ? "info" : "target")
        var message = String(format: "[%8.6f]", second)
        for _ in 0..<(3 + next(25)) { message += " " + words[next(words.count)] }
        append("- {\"dt\": \"\(dt)\", \"lvl\": \"\(level)\", \"msg\": \"\(Self.jsonEscaped(message))\"}")
      }
      index += 1
    }
    append(#"- {"dt": "2026-11-30T19:00:00.000000", "lvl": "target", "msg": "\#(endMarker)"}"#)
    self.text = text
    self.offsets = offsets
    self.endMarker = endMarker
  }

  /// A log read back (from the cache); nil unless it is whole lines ending with `endMarker`'s.
  init?(text: Data, endMarker: String) {
    guard text.last == 10 else { return nil }
    var offsets = [0]
    offsets.reserveCapacity(text.count / 100)
    text.withUnsafeBytes { buffer in
      for (position, byte) in buffer.enumerated() where byte == 10 { offsets.append(position + 1) }
    }
    let lastLine = text[offsets[offsets.count - 2]..<text.count]
    guard lastLine.range(of: Data(endMarker.utf8)) != nil else { return nil }
    self.text = text
    self.offsets = offsets
    self.endMarker = endMarker
  }

  /// The log of `bytes` and `seed`, read from `directory` when an earlier run left it there,
  /// else generated (a few seconds for 50 MB) and left there for the next run.
  static func cached(bytes: Int, seed: UInt64, in directory: URL) throws -> (
    corpus: LogCorpus, wasCached: Bool
  ) {
    let file = directory.appendingPathComponent("log-\(bytes)-\(seed)-v1.yaml")
    if let text = try? Data(contentsOf: file),
      let corpus = LogCorpus(text: text, endMarker: endMarker(bytes: bytes, seed: seed))
    {
      return (corpus, true)
    }
    let corpus = LogCorpus(bytes: bytes, seed: seed)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try corpus.text.write(to: file, options: .atomic)
    return (corpus, false)
  }

  static func jsonEscaped(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
  }

  /// Line `index` without its newline.
  func line(_ index: Int) -> String {
    String(decoding: text[offsets[index]..<(offsets[index + 1] - 1)], as: UTF8.self)
  }

  /// The lines cut into pieces of about `bytes` each, for the played worker's POSTs.
  func pieces(of bytes: Int) -> [[String]] {
    var result: [[String]] = []
    var start = 0
    while start < lineCount {
      var end = start
      while end < lineCount, offsets[end + 1] - offsets[start] < bytes { end += 1 }
      end = max(end, start + 1)
      result.append((start..<end).map(line))
      start = end
    }
    return result
  }

  /// How many lines from the start make up at least `bytes`.
  func lineCount(covering bytes: Int) -> Int {
    offsets.firstIndex { $0 >= bytes } ?? lineCount
  }

  /// LAVA's `output.idx` for this log: the offset of each line's start, as 8-byte native
  /// (little-endian here) integers, one per line (LogsFilesystem, PACK_FORMAT "=Q").
  func lavaIndex() -> Data {
    var index = Data(count: lineCount * 8)
    index.withUnsafeMutableBytes { buffer in
      for line in 0..<lineCount {
        buffer.storeBytes(of: UInt64(offsets[line]).littleEndian, toByteOffset: line * 8, as: UInt64.self)
      }
    }
    return index
  }
}
