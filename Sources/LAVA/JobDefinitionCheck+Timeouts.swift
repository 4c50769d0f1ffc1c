import HTTP
import Protocols
import RunnerCore
import YAML

extension JobDefinitionCheck {
  /// Checks the `timeouts` mapping and returns the job timeout in seconds, when it is known.
  @discardableResult
  package mutating func checkTimeouts(_ root: YAMLNode) -> Int? {
    guard let timeouts = root["timeouts"] else {
      report("missing required key 'timeouts': add 'timeouts: {job: {minutes: 30}}'", at: root.mark)
      return nil
    }
    guard let pairs = timeouts.pairs else {
      report(
        "'timeouts' must be a mapping with at least a 'job' timeout, found \(timeouts.kindDescription)",
        at: timeouts.mark)
      return nil
    }
    let job = timeouts["job"].flatMap { checkTimeout($0, name: "timeouts.job") }
    if timeouts["job"] == nil {
      report("missing required key 'job' in 'timeouts': add 'job: {minutes: 30}'", at: timeouts.mark)
    }
    for pair in pairs {
      let key = pair.key.scalar?.value ?? ""
      switch key {
      case "job": continue
      case "action", "connection", "queue":
        let seconds = checkTimeout(pair.value, name: "timeouts.\(key)")
        // LAVA compares only the action and connection timeouts with the job's.
        if key != "queue" { checkWithinJob(seconds, job: job, name: "timeouts.\(key)", at: pair.value.mark) }
      case "actions", "connections":
        guard let named = pair.value.pairs else {
          report(
            "'timeouts.\(key)' must map names to timeouts, found \(pair.value.kindDescription)",
            at: pair.value.mark)
          continue
        }
        for entry in named {
          let name = "timeouts.\(key).\(entry.key.scalar?.value ?? "?")"
          checkWithinJob(checkTimeout(entry.value, name: name), job: job, name: name, at: entry.value.mark)
        }
      default:
        report(
          "unknown key '\(key)' in 'timeouts': expected job, action, actions, connection, connections or queue",
          at: pair.key.mark)
      }
    }
    return job
  }

  /// A timeout is one unit with a positive count, e.g. `{minutes: 5}`, and optionally `skip`.
  /// Returns the timeout in seconds, or nil when it is invalid or templated.
  @discardableResult
  package mutating func checkTimeout(_ node: YAMLNode, name: String) -> Int? {
    guard let pairs = node.pairs else {
      report(
        "'\(name)' must be a mapping such as '{minutes: 10}', found \(node.kindDescription)", at: node.mark)
      return nil
    }
    let units = JobDefinitionValidator.timeoutUnits
    var unitPairs: [YAMLPair] = []
    for pair in pairs {
      let key = pair.key.scalar?.value ?? ""
      if units.contains(key) {
        unitPairs.append(pair)
      } else if key == "skip" {
        if pair.value.bool == nil && !placeholders.isPlaceholder(pair.value) {
          report(
            "'\(name).skip' must be true or false, found \(pair.value.kindDescription)", at: pair.value.mark)
        }
      } else {
        report(
          "unknown key '\(key)' in timeout '\(name)': expected one of days, hours, minutes or seconds",
          at: pair.key.mark)
      }
    }
    guard unitPairs.count == 1, let unit = unitPairs.first else {
      let found =
        unitPairs.count == 0 ? "none" : unitPairs.map { $0.key.scalar?.value ?? "" }.joined(separator: ", ")
      report(
        "timeout '\(name)' needs exactly one of days, hours, minutes or seconds, found \(found)",
        at: node.mark)
      return nil
    }
    if placeholders.isPlaceholder(unit.value) { return nil }
    let unitName = unit.key.scalar?.value ?? ""
    if case .largeInt(let text)? = unit.value.resolved {
      reportTooLong("\(text) \(unitName)", name: "\(name).\(unitName)", at: unit.value.mark)
      return nil
    }
    guard let count = unit.value.int, count >= 1 else {
      report(
        "'\(name).\(unitName)' must be a whole number of at least 1, found "
          + (unit.value.int.map { "\($0)" } ?? unit.value.kindDescription), at: unit.value.mark)
      return nil
    }
    // Checked: the count is anyone's input, and a wrapped product once read as "-1 days".
    let (seconds, overflow) = count.multipliedReportingOverflow(by: Self.secondsPer[unitName] ?? 1)
    guard !overflow, seconds <= Self.longestTimeout else {
      reportTooLong("\(count) \(unitName)", name: "\(name).\(unitName)", at: unit.value.mark)
      return nil
    }
    return seconds
  }

  /// The longest duration LAVA can hold: it builds a Python `timedelta`, which stops at
  /// 999 999 999 days and refuses the job beyond.
  static let longestTimeout = 999_999_999 * 86_400

  private mutating func reportTooLong(_ written: String, name: String, at mark: YAMLMark) {
    report(
      "'\(name)' is \(written), longer than LAVA can hold (at most 999999999 days): "
        + "use a realistic timeout such as 'hours: 2'", at: mark)
  }

  private static let secondsPer = ["days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1]

  /// LAVA refuses a job whose action or connection timeouts exceed the job timeout.
  package mutating func checkWithinJob(_ seconds: Int?, job: Int?, name: String, at mark: YAMLMark) {
    guard let seconds, let job, seconds > job else { return }
    report(
      "timeout '\(name)' (\(Self.duration(seconds))) is longer than the job timeout (\(Self.duration(job))): "
        + "shorten it or raise timeouts.job", at: mark)
  }

  /// Each action may set its own `timeout` and named `timeouts`, bounded by the job timeout too.
  package mutating func checkActionTimeouts(_ root: YAMLNode, job: Int?) {
    for (index, item) in (root["actions"]?.items ?? []).enumerated() {
      guard let action = item.pairs?.first, item.pairs?.count == 1, let settings = action.value.pairs else {
        continue
      }
      let prefix = "actions[\(index + 1)].\(action.key.scalar?.value ?? "")"
      for pair in settings {
        switch pair.key.scalar?.value {
        case "timeout":
          let seconds = checkTimeout(pair.value, name: "\(prefix).timeout")
          checkWithinJob(seconds, job: job, name: "\(prefix).timeout", at: pair.value.mark)
        case "timeouts":
          for entry in pair.value.pairs ?? [] {
            let name = "\(prefix).timeouts.\(entry.key.scalar?.value ?? "?")"
            checkWithinJob(checkTimeout(entry.value, name: name), job: job, name: name, at: entry.value.mark)
          }
        default:
          continue
        }
      }
    }
  }

  private static func duration(_ seconds: Int) -> String {
    for (unit, size) in [("day", 86_400), ("hour", 3_600), ("minute", 60)] where seconds % size == 0 {
      let count = seconds / size
      return "\(count) \(unit)\(count == 1 ? "" : "s")"
    }
    return "\(seconds) second\(seconds == 1 ? "" : "s")"
  }
}
