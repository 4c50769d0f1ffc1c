import Commands
import Foundation

extension FuzzTarget {
  /// Known-issue patterns: the first line of the input is the pattern, the rest the log line.
  /// A pattern either compiles or is refused with a column inside it; a compiled one matches in
  /// at most 2 × program size × (bytes + 1) steps.
  static let linearRegex = FuzzTarget(
    name: "linear-regex", summary: "Commands LinearRegex: LAVA_KNOWN_ISSUES patterns on log lines"
  ) { data in
    let parts = data.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
    let pattern = String(decoding: parts[0].prefix(512), as: UTF8.self)
    let line = parts.count > 1 ? parts[1].prefix(4096) : Data().prefix(0)
    do throws(LinearRegexError) {
      let regex = try LinearRegex(pattern)
      let (_, steps) = regex.run(line)
      fuzzCheck(
        steps <= 2 * regex.programSize * (line.count + 1),
        "\(steps) steps for \(regex.programSize) instructions on \(line.count) bytes")
    } catch {
      fuzzCheck(
        error.column >= 1 && error.column <= pattern.unicodeScalars.count + 1,
        "column \(error.column) outside \(pattern.unicodeScalars.count)")
    }
  }
}
