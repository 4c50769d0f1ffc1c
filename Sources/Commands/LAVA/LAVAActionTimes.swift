import Foundation
import Protocols

/// The top-level LAVA actions of one job's log with their timeouts and durations, read from
/// LAVA's `start: N name (timeout …)` and `end: N name (duration …)` info lines (the lines
/// ``LAVALogSections`` builds its sections from), for `lava-report.json` and known issues that
/// name an action.
struct LAVAActionTimes: Sendable, Equatable, Codable {
  struct Action: Sendable, Equatable, Codable {
    /// `2`, LAVA's number of the top-level action.
    var number: String
    /// `boot-image-retry`.
    var name: String
    /// LAVA's timeout as written, e.g. `00:02:00`.
    var timeout: String?
    /// LAVA's time (`dt`) of the `start:` and `end:` lines.
    var start: String?
    var end: String?
    /// LAVA's own duration from the `end:` line, in seconds; from the two times when it gave none.
    var seconds: Double?
  }

  private(set) var actions: [Action] = []
  /// A log with more top-level actions than this keeps the first ones (a hostile log must not
  /// grow the report without bound; LAVA jobs have a handful).
  static let maximumActions = 500
  private var running: Int?

  /// The action running now, e.g. `boot-image-retry`; nil between actions.
  var current: String? { running.map { actions[$0].name } }

  mutating func note(_ entry: LAVALogEntry) {
    guard entry.level == "info", case .text(let text) = entry.message,
      let line = LAVALogSections.action(text)
    else { return }
    if line.starts {
      guard actions.count < Self.maximumActions else {
        running = nil
        return
      }
      actions.append(
        Action(
          number: line.number, name: line.name, timeout: Self.value(line.detail, after: "timeout "),
          start: entry.timestamp))
      running = actions.count - 1
    } else if let index = running ?? actions.lastIndex(where: { $0.number == line.number }),
      actions[index].number == line.number
    {
      actions[index].end = entry.timestamp
      actions[index].seconds =
        Self.value(line.detail, after: "duration ").flatMap(Self.seconds)
        ?? Self.elapsed(from: actions[index].start, to: entry.timestamp)
      running = nil
    }
  }

  static func value(_ detail: String?, after prefix: String) -> String? {
    guard let detail, detail.hasPrefix(prefix) else { return nil }
    return String(detail.dropFirst(prefix.count))
  }

  /// `00:01:02.5` or `01:02` as seconds; nil for anything else.
  static func seconds(_ clock: String) -> Double? {
    let parts = clock.split(separator: ":", omittingEmptySubsequences: false)
    guard (1...3).contains(parts.count) else { return nil }
    var total = 0.0
    for part in parts {
      guard let value = Double(part), value >= 0, value.isFinite else { return nil }
      total = total * 60 + value
    }
    return total
  }

  static func elapsed(from start: String?, to end: String) -> Double? {
    guard let start, let from = LAVALogSections.date(start), let to = LAVALogSections.date(end) else {
      return nil
    }
    return max(0, to.timeIntervalSince(from))
  }
}
