import Foundation
import Protocols

/// `LAVA_KNOWN_ISSUES`: a YAML file from the dependencies' artifacts listing log patterns a lab
/// knows, and what `submit` does when one shows up in a LAVA job's log:
///
/// ```yaml
/// - name: usb-reset-storm                  # optional, for messages
///   regex: 'usb \d+-\d+: device descriptor read/64, error -71'
///   level: target                          # optional: one LAVA log level
///   lava_action: boot-image-retry          # optional: only during this top-level action
///   count: 3                               # optional (1): matches needed…
///   window: 5m                             # optional: …within this long (LAVA's clock)
///   action: retry                          # retry | fail | note
///   message: the board's USB hub is failing   # optional for note and retry
/// ```
///
/// `retry` ends the attempt as an infrastructure failure (the LAVA job is cancelled), `fail`
/// ends it now with the message as the job's failure, `note` prints the message as a warning.
/// Every mistake in the file is reported with its `file:line:column` before anything is
/// submitted.
///
/// Matching is bounded: at most ``maximumIssues`` patterns of at most ``maximumPatternLength``
/// characters, each tried on the first ``maximumMatchedBytes`` bytes of a line, by ``LinearRegex``:
/// no backtracking, so every pattern matches a line in time linear in its length (at most
/// pattern size × line bytes steps). What it cannot match that way (backreferences, lookarounds)
/// is refused when the file is read.
struct LAVAKnownIssues: Sendable, Equatable {
  enum Response: String, Sendable, Equatable, CaseIterable {
    case retry, fail, note
  }

  struct Issue: Sendable, Equatable {
    var name: String
    var regex: String
    var level: String?
    var lavaAction: String?
    var count: Int
    var window: Duration?
    var response: Response
    var message: String?
    /// Where the entry starts in the file, for messages.
    var position: String
  }

  var file: String
  var issues: [Issue]

  static let variable = "LAVA_KNOWN_ISSUES"
  static let maximumIssues = 64
  static let maximumPatternLength = 512
  static let maximumMatchedBytes = 4096
  static let maximumCount = 1000
  static let maximumFileBytes = 1 << 20
  static let keys = ["name", "regex", "level", "lava_action", "count", "window", "action", "message"]

  /// The file `LAVA_KNOWN_ISSUES` names, read and checked; nil when the variable is not set.
  /// `quietly` on a resume (``LAVACommandSession/dependency(_:limit:tooLarge:quietly:)``).
  static func load(_ session: LAVACommandSession, quietly: Bool = false) async throws -> LAVAKnownIssues? {
    guard let file = session.context.variables[variable]?.trimmingCharacters(in: .whitespaces), !file.isEmpty
    else { return nil }
    let data = try await session.dependency(
      file, limit: maximumFileBytes, tooLarge: "1 MiB, the most a known-issues file may be", quietly: quietly)
    guard let text = String(data: data, encoding: .utf8) else {
      throw CommandFailure(.scriptFailure, "\(session.name): \(variable): \(file) is not UTF-8 text")
    }
    do {
      return try parse(text, file: file, tree: try await session.context.lava.yamlTree(of: text, name: file))
    } catch let error as YAMLTreeError {
      throw CommandFailure(
        .scriptFailure,
        session.context.mask("\(session.name): \(variable): \(file) is not valid YAML:\n\(error)"))
    } catch let failure as CommandFailure {
      throw CommandFailure(failure.failureReason, session.context.mask("\(session.name): " + failure.message))
    }
  }

  /// The issues of an already read tree; every problem found, each `file:line:column: …`.
  static func parse(_ text: String, file: String, tree: YAMLTree?) throws(CommandFailure) -> LAVAKnownIssues {
    var problems: [String] = []
    func problem(_ node: YAMLTree, _ message: String) {
      problems.append("\(file):\(node.position): \(message)")
    }
    var issues: [Issue] = []
    guard let tree else { return LAVAKnownIssues(file: file, issues: []) }
    guard case .sequence(let entries) = tree.content else {
      problem(tree, "expected a list of known issues (`- regex: …`)")
      throw failure(file, problems)
    }
    if entries.count > maximumIssues {
      problem(
        entries[maximumIssues], "more than \(maximumIssues) known issues; each is tried on every log line")
    }
    for (index, entry) in entries.prefix(maximumIssues).enumerated() {
      guard case .mapping(let pairs) = entry.content else {
        problem(entry, "expected a mapping with regex and action")
        continue
      }
      var fields: [String: YAMLTree] = [:]
      for pair in pairs {
        guard let key = pair.key.scalar, keys.contains(key) else {
          problem(
            pair.key,
            "unknown key '\(pair.key.scalar ?? "…")'; expected one of " + keys.joined(separator: ", "))
          continue
        }
        if fields[key] != nil { problem(pair.key, "'\(key)' is given twice") }
        fields[key] = pair.value
      }
      func text(_ key: String) -> String? {
        guard let node = fields[key] else { return nil }
        guard let value = node.scalar else {
          problem(node, "'\(key)' must be a single value, not a list or mapping")
          return nil
        }
        return value
      }
      let name = text("name") ?? "known issue \(index + 1)"
      var regex: String?
      if let node = fields["regex"], let pattern = text("regex") {
        if let why = patternProblem(pattern) {
          problem(node, "regex '\(pattern.prefix(80))' \(why)")
        } else {
          regex = pattern
        }
      } else if fields["regex"] == nil {
        problem(entry, "'regex' is missing")
      }
      var level: String?
      if let node = fields["level"], let value = text("level") {
        if LAVALogLevels.known.contains(value) {
          level = value
        } else {
          problem(
            node,
            "level '\(value)' is not a LAVA log level; expected one of "
              + LAVALogLevels.known.joined(separator: ", "))
        }
      }
      var count = 1
      if let node = fields["count"], let value = text("count") {
        if let number = Int(value), (1...maximumCount).contains(number) {
          count = number
        } else {
          problem(node, "count '\(value)' must be a whole number from 1 to \(maximumCount)")
        }
      }
      var window: Duration?
      if let node = fields["window"], let value = text("window") {
        if let duration = DurationText.parse(value), duration > .zero {
          window = duration
        } else {
          problem(
            node,
            "window '\(value)' is not a duration such as 90s, 10m or 1h 30m, or a number of seconds, greater than zero"
          )
        }
        if fields["count"] == nil { problem(node, "a window needs a count (how many matches within it)") }
      }
      var response: Response?
      if let node = fields["action"], let value = text("action") {
        response = Response(rawValue: value)
        if response == nil {
          problem(node, "action '\(value)' is not one of retry, fail, note")
        }
      } else if fields["action"] == nil {
        problem(entry, "'action' is missing: retry, fail or note")
      }
      let message = text("message")
      if response == .fail, message == nil, fields["message"] == nil {
        problem(entry, "action fail needs a message: it becomes the job's failure")
      }
      if let regex, let response {
        issues.append(
          Issue(
            name: name, regex: regex, level: level, lavaAction: text("lava_action"), count: count,
            window: window, response: response, message: message, position: entry.position))
      }
    }
    guard problems.isEmpty else { throw failure(file, problems) }
    return LAVAKnownIssues(file: file, issues: issues)
  }

  private static func failure(_ file: String, _ problems: [String]) -> CommandFailure {
    CommandFailure(
      .scriptFailure,
      "\(variable): \(file) has \(problems.count == 1 ? "a mistake" : "\(problems.count) mistakes"):\n"
        + problems.map { "  " + $0 }.joined(separator: "\n"))
  }

  /// Why a pattern is refused, or nil: too long, or not in the subset ``LinearRegex`` matches
  /// in linear time.
  static func patternProblem(_ pattern: String) -> String? {
    guard !pattern.isEmpty else { return "is empty" }
    guard pattern.count <= maximumPatternLength else {
      return "is longer than \(maximumPatternLength) characters"
    }
    do throws(LinearRegexError) {
      _ = try LinearRegex(pattern)
    } catch {
      return "\(error)"
    }
    return nil
  }
}

/// What a known issue asks for once its pattern matched often enough.
struct LAVAKnownIssueHit: Sendable, Equatable {
  var response: LAVAKnownIssues.Response
  var issue: String
  /// The issue's message, or one naming the issue and the line that matched.
  var message: String
}

/// Matches the known issues against one LAVA job's log lines as they are read. One per LAVA
/// job; only the task following that job calls it (the lock keeps that safe regardless).
final class LAVAKnownIssueWatcher: @unchecked Sendable {
  private let lock = NSLock()
  private let issues: [LAVAKnownIssues.Issue]
  private let regexes: [LinearRegex?]
  /// Per issue, the times of its recent matches (at most its count).
  private var matches: [[Date]]
  private var actions = LAVAActionTimes()

  init(_ knownIssues: LAVAKnownIssues) {
    issues = knownIssues.issues
    // Checked when the file was read.
    regexes = knownIssues.issues.map { try? LinearRegex($0.regex) }
    matches = Array(repeating: [], count: knownIssues.issues.count)
  }

  /// The hits `line` completes, in the file's order. `now` stands for lines without LAVA's time.
  func inspect(_ line: LAVALogLine, now: Date = Date()) -> [LAVAKnownIssueHit] {
    lock.withLock {
      if let entry = line.entry { actions.note(entry) }
      let level = line.entry?.level
      let date = line.entry.flatMap { LAVALogSections.date($0.timestamp) } ?? now
      let texts = Self.texts(of: line).map(Self.bounded)
      var hits: [LAVAKnownIssueHit] = []
      for (index, issue) in issues.enumerated() {
        if let wanted = issue.level, wanted != level { continue }
        if let action = issue.lavaAction, action != actions.current { continue }
        guard let regex = regexes[index], let matched = texts.first(where: { regex.matches($0) }) else {
          continue
        }
        var recent = matches[index]
        recent.append(date)
        if let window = issue.window {
          let seconds = Double(window.components.seconds)
          recent.removeAll { date.timeIntervalSince($0) > seconds }
        }
        if recent.count >= issue.count {
          recent.removeAll()
          hits.append(
            LAVAKnownIssueHit(
              response: issue.response, issue: issue.name,
              message: issue.message ?? "known issue \(issue.name) matched: \(LAVALogRenderer.clean(matched))"
            ))
        }
        matches[index] = recent.suffix(issue.count)
      }
      return hits
    }
  }

  /// The text a pattern is tried on: each line of the message as LAVA wrote it.
  static func texts(of line: LAVALogLine) -> [String] {
    guard let entry = line.entry else { return [line.raw] }
    switch entry.message {
    case .text(let text): return [text]
    case .lines(let lines): return lines
    case .result(let fields):
      return [fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")]
    case .other(let text): return [text]
    }
  }

  /// At most ``LAVAKnownIssues/maximumMatchedBytes`` bytes, cut at a character boundary.
  static func bounded(_ text: String) -> String {
    guard text.utf8.count > LAVAKnownIssues.maximumMatchedBytes else { return text }
    // A character cut in two at the end decodes as U+FFFD, which no sensible pattern expects.
    return String(decoding: text.utf8.prefix(LAVAKnownIssues.maximumMatchedBytes), as: UTF8.self)
  }
}

/// The known issues as `submit`'s follower sees them (``LAVALineWatcher``): a watcher of its own
/// per LAVA job (counts and the running action are per job); see ``verdict(of:)``.
final class LAVAKnownIssueLineWatcher: LAVALineWatcher, @unchecked Sendable {
  private let lock = NSLock()
  private let issues: LAVAKnownIssues
  private var watchers: [Int64: LAVAKnownIssueWatcher] = [:]

  init(_ issues: LAVAKnownIssues) { self.issues = issues }

  func inspect(_ line: LAVALogLine, of id: Int64, action: String?, at time: ContinuousClock.Instant) async
    -> LAVALineVerdict?
  {
    let watcher = lock.withLock {
      if let known = watchers[id] { return known }
      let made = LAVAKnownIssueWatcher(issues)
      watchers[id] = made
      return made
    }
    return Self.verdict(of: watcher.inspect(line))
  }

  /// `fail` beats `retry`, which beats `note`; every note of the line is kept, one per line.
  static func verdict(of hits: [LAVAKnownIssueHit]) -> LAVALineVerdict? {
    func message(_ hit: LAVAKnownIssueHit) -> String { "known issue \(hit.issue): \(hit.message)" }
    if let fail = hits.first(where: { $0.response == .fail }) { return .fail(message(fail)) }
    if let retry = hits.first(where: { $0.response == .retry }) { return .retry(message(retry)) }
    guard !hits.isEmpty else { return nil }
    return .note(hits.map(message).joined(separator: "\n"))
  }
}
