import Foundation
import LAVA
import Protocols

extension FuzzTarget {
  /// LAVA log lines read on their bytes: every line the byte scanner accepts must give the
  /// entry the JSON decoder and libyaml give for it (the path the scanner stands in front of,
  /// which reads the lines it leaves).
  static let lavaLogScanner = FuzzTarget(
    name: "lava-log-scanner", summary: "LAVA LAVALogScanner against the JSON decoder it stands in front of"
  ) { data in
    let bytes = [UInt8](data)
    for piece in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      var line = Array(piece)
      if line.last == UInt8(ascii: "\r") { line.removeLast() }
      guard let scanned = line.withUnsafeBufferPointer(LAVALogScanner.entry) else { continue }
      let text = String(decoding: line, as: UTF8.self)
      let decoded = LAVALogParser.entry(ofJSONLine: text) ?? LAVALogParser.entry(ofYAMLLine: text)
      fuzzCheck(
        scanned == decoded,
        "the scanner read \(text.debugDescription) as \(scanned), "
          + "the JSON decoder and libyaml as \(decoded.map { "\($0)" } ?? "nothing")")
    }
  }
}
