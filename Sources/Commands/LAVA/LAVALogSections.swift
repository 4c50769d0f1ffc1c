import Foundation
import Protocols

/// Follows the structure of one LAVA job's log and wraps it in GitLab collapsible sections: one
/// per top-level LAVA action (`start: 2 boot-image-retry (timeout 00:02:00)` …
/// `end: 2 boot-image-retry (duration 00:00:03)`), and inside them one per test definition run
/// (`<LAVA_SIGNAL_STARTRUN …>`/`ENDRUN`), test set (`TESTSET START`/`STOP`) and test case
/// (`<LAVA_SIGNAL_STARTTC …>` to its `results` line).
///
/// GitLab decides whether a section is collapsed when it starts, before anyone knows whether it
/// will pass, and a log is streamed as it comes: every section starts collapsed. When one turns
/// out to have failed (a test case's `fail` result, a top-level action's `fail` result, the job
/// failing or the log stopping while an action runs), an *open* section follows it at the top
/// level with its last ``shownLines`` lines: the reader sees what failed without a click, the
/// full text stays in the collapsed section above. The sections around a failed test case are
/// closed for that block and go on as "(continued)" sections.
///
/// Section names are `lava_<job>_<n>_<what>`: `n` counts the sections of the job, so names are
/// unique, and only `[a-z0-9_.-]` is used. Marker times are LAVA's own (`dt`), so the duration
/// GitLab shows on a header is the one LAVA measured. ``finish(_:)`` closes whatever is open:
/// no section is left unbalanced, whatever way the log ends.
///
/// Memory is bounded: at most twice ``shownLines`` rendered texts are kept per open section.
struct LAVALogSections: Sendable {
  let jobID: Int64
  let renderer: LAVALogRenderer
  /// Lines repeated in the open block of a failed section.
  static let shownLines = 30

  enum Kind: Sendable, Equatable, Codable {
    case action(number: String, name: String)
    case run(name: String)
    case testSet(name: String)
    case testCase(name: String)
  }

  struct Frame: Sendable, Codable {
    var kind: Kind
    var id: String
    var header: String
    /// The last ``shownLines`` lines rendered in this section, split when read.
    var recent: [String] {
      get { kept.value }
      set { kept = LAVAKeptLines(newValue) }
    }
    private var kept: LAVAKeptLines
    /// A test case whose `ENDTC` was seen: its `results` line closes it.
    var ended = false

    init(kind: Kind, id: String, header: String, recent: [String] = [], ended: Bool = false) {
      self.kind = kind
      self.id = id
      self.header = header
      self.kept = LAVAKeptLines(recent)
      self.ended = ended
    }

    /// Keeps the lines of `rendered`, which has one (`LAVALogFastPaths.hasLine`).
    mutating func keep(_ rendered: String) {
      kept.append(rendered)
    }

    /// Keeps the lines of a rendered text given as its UTF-8 bytes, which has one.
    mutating func keep(bytes rendered: UnsafeBufferPointer<UInt8>) {
      kept.append(bytes: rendered)
    }
  }

  private(set) var open: [Frame] = []
  private var counter = 0
  /// The last top-level action closed, for its `results` line that LAVA writes after `end:`.
  private var lastAction: Frame?
  /// LAVA's time of the last line, for markers of lines without one.
  var lastDate: Date?
  /// The top-level action during which the job failed, e.g. `3 lava-test-retry`.
  private(set) var failedAction: String?
  /// Sections whose failure was shown in an open block, for tests and the failure summary.
  private(set) var failedSections: [String] = []

  init(jobID: Int64, renderer: LAVALogRenderer) {
    self.jobID = jobID
    self.renderer = renderer
  }

  /// The job log text for one line: section markers and the rendered line.
  mutating func consume(_ line: LAVALogLine) -> String {
    var line = line
    var text = ""
    if let held = heldMarker {
      heldMarker = nil
      if case .text(let rest)? = line.entry?.message, line.entry?.level == "target",
        case .text(let first)? = held.entry?.message
      {
        line.entry?.message = .text(first + rest)
      } else {
        text += consume(held)
      }
    }
    if case .text(let target)? = line.entry?.message, line.entry?.level == "target",
      Self.endsWithPartialMarker(target)
    {
      heldMarker = line
      return text
    }
    return text + collapseRepeats(line)
  }

  /// Identical target lines in a row shown at most this many times; the rest are counted.
  static let shownRepeats = 3
  var lastTarget: String?
  var repeats = 0

  /// A target line the device printed again and again is shown ``shownRepeats`` times, then
  /// once more as a count when something else comes.
  private mutating func collapseRepeats(_ line: LAVALogLine) -> String {
    if case .text(let target)? = line.entry?.message, line.entry?.level == "target",
      !(LAVALogFastPaths.mayContain(target, "<LAVA_SIGNAL_") && target.contains("<LAVA_SIGNAL_"))
    {
      if target == lastTarget {
        repeats += 1
        if repeats >= Self.shownRepeats { return "" }
        return structure(line)
      }
      let note = repeatNote()
      lastTarget = target
      repeats = 0
      return note + structure(line)
    }
    let note = repeatNote()
    lastTarget = nil
    repeats = 0
    return note + structure(line)
  }

  mutating func repeatNote() -> String {
    let hidden = repeats - (Self.shownRepeats - 1)
    guard hidden > 0 else { return "" }
    repeats = 0
    return keep(
      renderer.prefix + LogColor.gray.rawValue
        + "         ⟳    the line above, \(Self.count(hidden, "more time"))"
        + LAVALogRenderer.reset + "\n")
  }

  /// A target line that ends in the middle of a GitLab section marker the device printed
  /// (LAVA cut the output there): held until the next line completes it.
  var heldMarker: LAVALogLine?

  /// Whether the text ends with a GitLab marker that lacks its `\r\e[0K` ending, such as
  /// `…section_start:1700000000:build` or `…section_end:1700000000:bu`.
  static func endsWithPartialMarker(_ text: String) -> Bool {
    guard text.utf8.count < 4096, LAVALogFastPaths.mayContain(text, "section_"),
      let marker = [
        text.range(of: "section_start:", options: .backwards),
        text.range(of: "section_end:", options: .backwards),
      ].compactMap({ $0 }).max(by: { $0.lowerBound < $1.lowerBound })
    else { return false }
    let tail = text[marker.upperBound...]
    if tail.contains("\r\u{1B}[0K") { return false }
    return tail.count < 200
      && tail.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-:[]=, \r\u{1B}".contains($0)) }
  }

  private mutating func structure(_ line: LAVALogLine) -> String {
    guard let entry = line.entry else { return keep(renderer.renderIfShown(line)) }
    let date = Self.date(entry.timestamp) ?? lastDate ?? Date()
    lastDate = date
    switch entry.message {
    case .text(let text) where entry.level == "info":
      if let action = Self.action(text) {
        return action.starts
          ? startAction(action, line: line, at: date) : endAction(action, line: line, at: date)
      }
    case .text(let text) where entry.level == "target":
      if let signal = Self.signal(text), signal != .endRun, signal != .endTestSet {
        return handle(signal, line: line, at: date)
      }
    case .text(let text) where entry.level == "debug":
      // The device prints ENDRUN before LAVA has written the last case's result: the run ends
      // when LAVA has handled the signal, which it says after the results.
      if let signal = Self.received(text), signal == .endRun || signal == .endTestSet {
        return handle(signal, line: line, at: date)
      }
    case .result(let fields):
      return result(fields, line: line, at: date)
    default:
      break
    }
    return keep(renderer.renderIfShown(line))
  }

  /// Closes every open section; an action still running is reported as where the job stopped.
  /// `why` says how the log ended, e.g. "the GitLab job was canceled"; nil when LAVA finished it.
  mutating func finish(_ why: String? = nil) -> String {
    var held = ""
    if let line = heldMarker {
      heldMarker = nil
      held = collapseRepeats(line)
    }
    held += repeatNote()
    let date = lastDate ?? Date()
    guard let action = open.first(where: { if case .action = $0.kind { true } else { false } }) else {
      return held + closeAll(at: date)
    }
    var text = held + closeAll(at: date)
    let what = Self.describe(action.kind)
    failedAction = failedAction ?? Self.actionName(action.kind)
    text += failureBlock(
      "✘ \(what) did not end" + (why.map { " (\($0))" } ?? " (the log stopped)"), lines: action.recent,
      at: date)
    return text
  }

  // MARK: - Actions

  struct ActionLine: Equatable {
    var starts: Bool
    var number: String
    var name: String
    /// `timeout 00:02:00` or `duration 00:00:03`.
    var detail: String?
  }

  /// `start: 1 deployimages (timeout 00:02:00) [common]` of a top-level action (no dot in the
  /// number); nested actions (`1.1`) and other lines give nil.
  static func action(_ text: String) -> ActionLine? {
    let starts: Bool
    if text.hasPrefix("start: ") {
      starts = true
    } else if text.hasPrefix("end: ") {
      starts = false
    } else {
      return nil
    }
    let words = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
    guard words.count >= 3, !words[1].isEmpty, words[1].allSatisfy({ $0.isASCII && $0.isNumber }),
      !words[2].isEmpty
    else { return nil }
    var detail: String?
    if words.count == 4, words[3].hasPrefix("("), let close = words[3].firstIndex(of: ")") {
      detail = String(words[3][words[3].index(after: words[3].startIndex)..<close])
    }
    return ActionLine(starts: starts, number: String(words[1]), name: String(words[2]), detail: detail)
  }

  private mutating func startAction(_ action: ActionLine, line: LAVALogLine, at date: Date) -> String {
    // An action that never wrote its `end:` (LAVA's `0 validate`) ends where the next begins.
    var text = closeAll(at: date)
    text += openSection(
      .action(number: action.number, name: action.name), header: renderer.render(line), at: date)
    return text
  }

  private mutating func endAction(_ action: ActionLine, line: LAVALogLine, at date: Date) -> String {
    guard case .action(let number, _)? = open.first?.kind, number == action.number else {
      return keep(renderer.renderIfShown(line))
    }
    var text = keep(renderer.renderIfShown(line))
    text += closeAll(at: date)
    return text
  }

  // MARK: - Test runs, sets and cases

  enum Signal: Equatable {
    case startRun(String)
    case endRun
    case startTestSet(String)
    case endTestSet
    case startTestCase(String)
    case endTestCase(String)
  }

  /// The first LAVA signal a target line carries, e.g. `<LAVA_SIGNAL_STARTTC must-fail>`.
  static func signal(_ text: String) -> Signal? {
    guard LAVALogFastPaths.mayContain(text, "<LAVA_SIGNAL_"), let start = text.range(of: "<LAVA_SIGNAL_"),
      let close = text[start.upperBound...].firstIndex(of: ">")
    else { return nil }
    let words = text[start.upperBound..<close].split(separator: " ").map(String.init)
    guard let word = words.first else { return nil }
    let argument = words.count > 1 ? words[1] : nil
    switch word {
    case "STARTRUN": return argument.map(Signal.startRun)
    case "ENDRUN": return .endRun
    case "STARTTC": return argument.map(Signal.startTestCase)
    case "ENDTC": return argument.map(Signal.endTestCase)
    case "TESTSET" where argument == "START": return words.count > 2 ? .startTestSet(words[2]) : nil
    case "TESTSET" where argument == "STOP": return .endTestSet
    default: return nil
    }
  }

  /// The signal of LAVA's `Received signal: <ENDRUN> 0_smoke 89_1.1.3.1` debug line.
  static func received(_ text: String) -> Signal? {
    guard text.hasPrefix("Received signal: <") else { return nil }
    let words = text.dropFirst("Received signal: <".count).split(separator: " ")
    guard let first = words.first, first.hasSuffix(">") else { return nil }
    let rest = words.dropFirst().joined(separator: " ")
    return signal("<LAVA_SIGNAL_" + first.dropLast() + (rest.isEmpty ? "" : " " + rest) + ">")
  }

  private mutating func handle(_ signal: Signal, line: LAVALogLine, at date: Date) -> String {
    var text = ""
    switch signal {
    case .startRun(let name):
      text += close(while: { !Self.isAction($0) }, at: date)
      text += openSection(.run(name: name), header: header("test definition \(name)", date: date), at: date)
      text += keep(renderer.renderIfShown(line))
    case .endRun:
      text += close(while: { !Self.isRun($0) && !Self.isAction($0) }, at: date)
      text += keep(renderer.renderIfShown(line))
      if let last = open.last, Self.isRun(last.kind) { text += closeLast(at: date) }
    case .startTestSet(let name):
      text += close(while: { if case .testCase = $0 { true } else { false } }, at: date)
      text += openSection(.testSet(name: name), header: header("test set \(name)", date: date), at: date)
      text += keep(renderer.renderIfShown(line))
    case .endTestSet:
      text += close(while: { if case .testCase = $0 { true } else { false } }, at: date)
      text += keep(renderer.renderIfShown(line))
      if case .testSet? = open.last?.kind { text += closeLast(at: date) }
    case .startTestCase(let name):
      text += close(while: { if case .testCase = $0 { true } else { false } }, at: date)
      text += openSection(.testCase(name: name), header: header("test case \(name)", date: date), at: date)
      text += keep(renderer.renderIfShown(line))
    case .endTestCase(let name):
      text += keep(renderer.renderIfShown(line))
      if case .testCase(name)? = open.last?.kind { open[open.count - 1].ended = true }
    }
    return text
  }

  private mutating func result(_ fields: [String: String], line: LAVALogLine, at date: Date) -> String {
    let rendered = renderer.renderIfShown(line)
    let failed = fields["result"] == "fail"
    let definition = fields["definition"] ?? ""
    let name = fields["case"] ?? ""
    if definition != "lava" {
      // A test case's result closes its section; without a section (a case reported without
      // STARTTC) it is an ordinary line.
      guard case .testCase(let open)? = open.last?.kind, open == name else {
        var text = keep(rendered)
        if failed { text += failureSplit("✘ test case \(definition)/\(name) failed", lines: [], at: date) }
        return text
      }
      var text = keep(rendered)
      let frame = self.open[self.open.count - 1]
      text += closeLast(at: date)
      if failed {
        text += failureSplit("✘ test case \(definition)/\(name) failed", lines: frame.recent, at: date)
      }
      return text
    }
    guard failed else { return keep(rendered) }
    if name == "job" {
      // The job failed: an action still running is where.
      guard let action = open.first, Self.isAction(action.kind) else { return keep(rendered) }
      failedAction = failedAction ?? Self.actionName(action.kind)
      let lines = action.recent
      var text = closeAll(at: date)
      text += failureBlock("✘ \(Self.describe(action.kind)) failed", lines: lines, at: date)
      text += rendered
      return text
    }
    if let level = fields["level"], !level.isEmpty, level.allSatisfy({ $0.isASCII && $0.isNumber }) {
      // A top-level action's result: LAVA writes it after the action's `end:` line.
      if let action = open.first, case .action(level, _) = action.kind {
        failedAction = failedAction ?? Self.actionName(action.kind)
        var text = keep(rendered)
        let lines = self.open[0].recent
        text += closeAll(at: date)
        text += failureBlock("✘ \(Self.describe(action.kind)) failed", lines: lines, at: date)
        return text
      }
      if let action = lastAction, case .action(level, _) = action.kind {
        failedAction = failedAction ?? Self.actionName(action.kind)
        lastAction = nil
        return rendered
          + failureBlock("✘ \(Self.describe(action.kind)) failed", lines: action.recent, at: date)
      }
    }
    return keep(rendered)
  }

  // MARK: - Sections

  private mutating func openSection(_ kind: Kind, header: String, at date: Date) -> String {
    counter += 1
    let id = Self.name(job: jobID, counter: counter, what: Self.slugSource(kind))
    open.append(Frame(kind: kind, id: id, header: header))
    return LogSection.start(id: id, options: "[collapsed=true]", at: date) + header
  }

  private mutating func closeLast(at date: Date) -> String {
    guard let frame = open.popLast() else { return "" }
    if Self.isAction(frame.kind) { lastAction = frame }
    return LogSection.end(id: frame.id, at: date)
  }

  private mutating func close(while condition: (Kind) -> Bool, at date: Date) -> String {
    var text = ""
    while let last = open.last, condition(last.kind) { text += closeLast(at: date) }
    return text
  }

  private mutating func closeAll(at date: Date) -> String {
    close(while: { _ in true }, at: date)
  }

  /// Renders nothing new: keeps the rendered text in every open section's recent lines.
  private mutating func keep(_ rendered: String) -> String {
    guard !open.isEmpty, LAVALogFastPaths.hasLine(rendered) else { return rendered }
    // Split only if a failure block or a checkpoint reads them (LAVAKeptLines).
    for index in open.indices { open[index].keep(rendered) }
    return rendered
  }

  /// ``keep(_:)`` of a rendered text given as its UTF-8 bytes.
  mutating func keep(bytes rendered: UnsafeBufferPointer<UInt8>) {
    guard !open.isEmpty, rendered.contains(where: { $0 != 0x0A }) else { return }
    for index in open.indices { open[index].keep(bytes: rendered) }
  }

  /// The non-empty lines of rendered text, as kept for a failure block.
  static func lines(of rendered: String) -> [String] {
    (LAVALogFastPaths.lines(of: rendered) ?? rendered.split(separator: "\n", omittingEmptySubsequences: true))
      .map(String.init)
  }

  /// An open section at the top level with what failed and its last lines.
  private mutating func failureBlock(_ title: String, lines: [String], at date: Date) -> String {
    counter += 1
    let id = Self.name(job: jobID, counter: counter, what: "failed")
    failedSections.append(title)
    var text =
      LogSection.start(id: id, at: date) + LogColor.red.rawValue + title + LAVALogRenderer.reset + "\n"
    if !lines.isEmpty {
      text +=
        renderer.prefix + "  its last \(Self.count(lines.count, "line")), all of it in the section above:\n"
      text += lines.map { $0 + "\n" }.joined()
    }
    return text + LogSection.end(id: id, at: date)
  }

  /// A failure inside nested sections: they are closed for the open block, then go on as
  /// "(continued)" sections, still collapsed.
  private mutating func failureSplit(_ title: String, lines: [String], at date: Date) -> String {
    let reopen = open.map { (kind: $0.kind, header: $0.header) }
    var text = closeAll(at: date)
    lastAction = nil
    text += failureBlock(title, lines: lines, at: date)
    for frame in reopen {
      let header =
        header(Self.describe(frame.kind) + " (continued)", date: date)
      text += openSection(frame.kind, header: header, at: date)
    }
    return text
  }

  private func header(_ text: String, date: Date) -> String {
    renderer.prefix + LogColor.gray.rawValue + Self.clock(date) + LAVALogRenderer.reset + " "
      + LogColor.cyan.rawValue + "▸ " + text + LAVALogRenderer.reset + "\n"
  }

  static func isAction(_ kind: Kind) -> Bool { if case .action = kind { true } else { false } }
  static func isRun(_ kind: Kind) -> Bool { if case .run = kind { true } else { false } }

  static func actionName(_ kind: Kind) -> String? {
    if case .action(let number, let name) = kind { "\(number) \(name)" } else { nil }
  }

  static func describe(_ kind: Kind) -> String {
    switch kind {
    case .action(let number, let name): "LAVA action \(number) \(name)"
    case .run(let name): "test definition \(name)"
    case .testSet(let name): "test set \(name)"
    case .testCase(let name): "test case \(name)"
    }
  }

  static func slugSource(_ kind: Kind) -> String {
    switch kind {
    case .action(_, let name): name
    case .run(let name): "run_" + name
    case .testSet(let name): "set_" + name
    case .testCase(let name): "tc_" + name
    }
  }

  /// `lava_12_3_boot-image-retry`: lower case, `[a-z0-9_.-]` only, at most 64 characters.
  static func name(job: Int64, counter: Int, what: String) -> String {
    var slug = ""
    for character in what.lowercased() {
      let allowed =
        character.isASCII && (character.isLetter || character.isNumber || "_.-".contains(character))
      if allowed {
        slug.append(character)
      } else if !slug.hasSuffix("_") {
        slug.append("_")
      }
    }
    return String("lava_\(job)_\(counter)_\(slug)".prefix(64))
  }

  static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

  /// `2026-11-29T01:38:32.619219` (UTC, as LAVA writes it) as a date; nil for anything else.
  static func date(_ timestamp: String) -> Date? {
    let parts =
      LAVALogFastPaths.dateParts(timestamp)
      ?? timestamp.split(whereSeparator: { "-T: .".contains($0) }).prefix(6).map { Int($0) }
    guard parts.count == 6, parts.allSatisfy({ $0 != nil }) else { return nil }
    return seconds(parts[0]!, parts[1]!, parts[2]!, parts[3]!, parts[4]!, parts[5]!)
      .map { Date(timeIntervalSince1970: TimeInterval($0)) }
  }

  /// Seconds since 1970 of a UTC date and time; nil for a month or day out of range.
  static func seconds(_ y: Int, _ m: Int, _ d: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Int? {
    guard (1...12).contains(m), (1...31).contains(d) else { return nil }
    // Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let year = m <= 2 ? y - 1 : y
    let era = (year >= 0 ? year : year - 399) / 400
    let yearOfEra = year - era * 400
    let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    let days = era * 146_097 + dayOfEra - 719_468
    return days * 86_400 + hour * 3600 + minute * 60 + second
  }

  static func clock(_ date: Date) -> String {
    let seconds = Int(date.timeIntervalSince1970) % 86_400
    let parts = [seconds / 3600, seconds / 60 % 60, seconds % 60]
    return parts.map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
  }
}

// MARK: - Resuming

extension LAVALogSections {
  /// Where the structure stands after some lines, for a runner that resumes the log after a
  /// restart: the open sections with their recent lines, the section counter (names stay
  /// unique), the repeat count and a marker held for its end, so that the resumed log goes on
  /// exactly as the uninterrupted one would have.
  struct Snapshot: Sendable, Codable, Equatable {
    var open: [Frame]
    var counter: Int
    var lastAction: Frame?
    var lastDate: Date?
    var failedAction: String?
    var failedSections: [String]
    var lastTarget: String?
    var repeats: Int
    var heldMarker: HeldLine?
  }

  /// A target line held for the rest of a GitLab marker: only such lines are held.
  struct HeldLine: Sendable, Codable, Equatable {
    var raw: String
    var timestamp: String
    var text: String
  }

  var snapshot: Snapshot {
    var held: HeldLine?
    if let line = heldMarker, let entry = line.entry, case .text(let text) = entry.message {
      held = HeldLine(raw: line.raw, timestamp: entry.timestamp, text: text)
    }
    return Snapshot(
      open: open, counter: counter, lastAction: lastAction, lastDate: lastDate, failedAction: failedAction,
      failedSections: failedSections, lastTarget: lastTarget, repeats: repeats, heldMarker: held)
  }

  init(jobID: Int64, renderer: LAVALogRenderer, restoring snapshot: Snapshot) {
    self.init(jobID: jobID, renderer: renderer)
    open = snapshot.open
    counter = snapshot.counter
    lastAction = snapshot.lastAction
    lastDate = snapshot.lastDate
    failedAction = snapshot.failedAction
    failedSections = snapshot.failedSections
    lastTarget = snapshot.lastTarget
    repeats = snapshot.repeats
    heldMarker = snapshot.heldMarker.map { held in
      LAVALogLine(
        raw: held.raw,
        entry: LAVALogEntry(timestamp: held.timestamp, level: "target", message: .text(held.text)))
    }
  }
}

extension LAVALogSections.Frame: Equatable {
  static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.kind == rhs.kind && lhs.id == rhs.id && lhs.header == rhs.header && lhs.ended == rhs.ended
      && lhs.recent == rhs.recent
  }
}

extension LAVALogSections.Frame {
  /// The checkpoint format of a frame: its kept lines as split lines, as before they were kept
  /// unsplit.
  private enum CodingKeys: String, CodingKey {
    case kind, id, header, recent, ended
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      kind: try container.decode(LAVALogSections.Kind.self, forKey: .kind),
      id: try container.decode(String.self, forKey: .id),
      header: try container.decode(String.self, forKey: .header),
      recent: try container.decode([String].self, forKey: .recent),
      ended: try container.decode(Bool.self, forKey: .ended))
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(kind, forKey: .kind)
    try container.encode(id, forKey: .id)
    try container.encode(header, forKey: .header)
    try container.encode(recent, forKey: .recent)
    try container.encode(ended, forKey: .ended)
  }
}
