// The LAVA log path as it was before the byte-level path (issue 10), kept for tests only as
// the reference LAVALogPathDifferentialTests compares the runner's path with: the file as it
// was in Sources/Commands/LAVA, its types renamed. Do not change it to match new behaviour.
import Foundation
import Protocols

@testable import Commands
@testable import LAVA

/// `LAVALogParser.lines(in:)` before the byte scanner: every line through a String, Foundation's
/// JSON decoder, then libyaml (those two readers are still the runner's, for the lines the
/// scanner leaves).
enum ReferenceLAVALogParser {
  static func lines(in body: Data) -> [LAVALogLine] {
    var pieces = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let unterminated = pieces.removeLast()
    var lines = pieces.map { line(String(decoding: $0, as: UTF8.self)) }
    if !unterminated.isEmpty {
      let last = line(String(decoding: unterminated, as: UTF8.self))
      if last.entry != nil { lines.append(last) }
    }
    return lines
  }

  static func line(_ raw: String) -> LAVALogLine {
    let text = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
    return LAVALogLine(
      raw: raw, entry: LAVALogParser.entry(ofJSONLine: text) ?? LAVALogParser.entry(ofYAMLLine: text))
  }
}

/// What a LAVA log says about how its job ended: the `lava` suite's `job` result line, the
/// top-level action the job failed in and the device's last lines before the failure.
struct ReferenceLAVAJobError: Sendable, Equatable {
  var type: String?
  var message: String?
  /// The top-level action (`3 lava-test-retry`) whose `fail` result LAVA wrote, or that was
  /// running when the job failed.
  var failedAction: String?
  /// The last ``keptTargetLines`` target lines, up to the first failure LAVA reported.
  var lastTargetLines: [String] = []
  static let keptTargetLines = 30

  private var runningAction: String?
  private var frozen = false

  init(type: String? = nil, message: String? = nil) {
    self.type = type
    self.message = message
  }

  mutating func note(_ line: LAVALogLine) {
    guard let entry = line.entry else { return }
    switch entry.message {
    case .text(let text) where entry.level == "target":
      guard !frozen else { return }
      for piece in ReferenceLAVALogRenderer.split(text) {
        lastTargetLines.append(ReferenceLAVALogRenderer.clean(piece))
      }
      if lastTargetLines.count > Self.keptTargetLines {
        lastTargetLines.removeFirst(lastTargetLines.count - Self.keptTargetLines)
      }
    case .text(let text) where entry.level == "info":
      if let action = ReferenceLAVALogSections.action(text) {
        runningAction = action.starts ? "\(action.number) \(action.name)" : nil
      }
    case .result(let fields) where fields["definition"] == "lava" && fields["result"] == "fail":
      if fields["case"] == "job" {
        failedAction = failedAction ?? runningAction
        frozen = true
        if fields["error_type"] != nil || fields["error_msg"] != nil {
          type = fields["error_type"]
          message = fields["error_msg"]
        }
      } else if let level = fields["level"], !level.isEmpty, level.allSatisfy({ $0.isASCII && $0.isNumber }) {
        failedAction = failedAction ?? "\(level) \(fields["case"] ?? "?")"
        frozen = true
      }
    default:
      break
    }
  }
}
