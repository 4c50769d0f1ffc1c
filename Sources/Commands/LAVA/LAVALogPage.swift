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
  func write(_ lines: [LAVALogLine], structure: inout LAVALogSections, error: inout LAVAJobError) async throws
  {
    try file.append(lines)
    await log.write(
      Self.text(of: lines, structure: &structure, plain: sections ? nil : renderer, error: &error))
  }

  /// The job log text of a page: with sections, or each line as `plain` renders it.
  static func text(
    of lines: [LAVALogLine], structure: inout LAVALogSections, plain: LAVALogRenderer?,
    error: inout LAVAJobError
  ) -> String {
    var text = ""
    for line in lines {
      error.note(line)
      text += plain.map { $0.renderIfShown(line) } ?? structure.consume(line)
    }
    return text
  }
}
