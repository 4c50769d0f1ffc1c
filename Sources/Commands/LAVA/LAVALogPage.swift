import Protocols

/// How much log one follower poll brought, page after page.
struct LAVALogBatch {
  private(set) var lines = 0
  private(set) var bytes = 0

  mutating func add(_ page: [LAVALogLine]) {
    lines += page.count
    for line in page { bytes += line.raw.utf8.count }
  }
}

extension LAVALogFollower {
  /// One page of log lines, before the next is asked for: the raw lines into `<id>_log.yaml`,
  /// then their job log text in one write (one pass of the masker, one append to the spool).
  /// The watcher sees each line once it is rendered; a note of its goes in after that line, and
  /// its first verdict is kept in `verdict`.
  func write(
    _ lines: [LAVALogLine], structure: inout LAVALogSections, error: inout LAVAJobError,
    verdict: inout LAVALineVerdict?, clock: ContinuousClock
  ) async throws {
    try file.append(lines)
    var text: [UInt8] = []
    text.reserveCapacity(lines.count * 160)
    for line in lines {
      Self.append(line, structure: &structure, plain: sections ? nil : renderer, error: &error, to: &text)
      switch await watcher?.inspect(line, of: id, action: error.currentAction, at: clock.now) {
      case .note(let message)?:
        await log.write(utf8: text)
        text.removeAll(keepingCapacity: true)
        // Several notes of one line come one per line: each gets its own warning.
        for note in message.split(separator: "\n", omittingEmptySubsequences: false) {
          await log.warning(renderer.prefix + note)
        }
      case let ended? where verdict == nil: verdict = ended
      default: break
      }
    }
    await log.write(utf8: text)
  }

  /// The job log text of a page: with sections, or each line as `plain` renders it.
  static func text(
    of lines: [LAVALogLine], structure: inout LAVALogSections, plain: LAVALogRenderer?,
    error: inout LAVAJobError
  ) -> String {
    var text: [UInt8] = []
    for line in lines { append(line, structure: &structure, plain: plain, error: &error, to: &text) }
    return String(decoding: text, as: UTF8.self)
  }

  /// The job log text of one line, appended as UTF-8 (the byte path for the usual lines).
  static func append(
    _ line: LAVALogLine, structure: inout LAVALogSections, plain: LAVALogRenderer?, error: inout LAVAJobError,
    to text: inout [UInt8]
  ) {
    error.note(line)
    guard let plain else { return structure.consume(line, into: &text) }
    if let entry = line.entry, plain.appendIfShown(entry, to: &text) { return }
    var rendered = plain.renderIfShown(line)
    rendered.withUTF8 { text.append(contentsOf: $0) }
  }
}
