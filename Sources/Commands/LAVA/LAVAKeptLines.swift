/// The last lines of rendered text an open section keeps for its failure block, split into
/// lines only when they are read.
///
/// Nearly every section ends without failing, and its kept lines are then never read: keeping
/// each rendered text's bytes whole in one buffer (one copy, no String or allocation per line)
/// and splitting the last ones when a failure block or a checkpoint asks for them saves
/// splitting and copying every line of the log into Strings. Reading gives exactly what
/// splitting each text as it came and keeping the last ``LAVALogSections/shownLines`` lines
/// would: every text kept has at least one line, so the last `shownLines` texts hold the last
/// `shownLines` lines.
struct LAVAKeptLines: Sendable {
  /// Lines kept before the texts (restored from a checkpoint, or set).
  private var lines: [String]
  /// The UTF-8 bytes of the rendered texts not yet split, oldest first, each with at least
  /// one line.
  private var bytes: [UInt8] = []
  /// Where each text ends in `bytes`.
  private var ends: [Int] = []

  init(_ lines: [String] = []) {
    self.lines = lines
  }

  /// The last ``LAVALogSections/shownLines`` lines, oldest first.
  var value: [String] {
    guard !ends.isEmpty else { return lines }
    var all = lines
    var start = 0
    for end in ends {
      let text = String(decoding: bytes[start..<end], as: UTF8.self)
      all += LAVALogSections.lines(of: text)
      start = end
    }
    return Array(all.suffix(LAVALogSections.shownLines))
  }

  /// Keeps the lines of `rendered`, which must have one (`LAVALogFastPaths.hasLine`).
  mutating func append(_ rendered: String) {
    var text = rendered
    text.withUTF8 { append(bytes: $0) }
  }

  /// Keeps the lines of a rendered text given as its UTF-8 bytes (whole characters), which
  /// must have one.
  mutating func append(bytes rendered: UnsafeBufferPointer<UInt8>) {
    bytes.append(contentsOf: rendered)
    ends.append(bytes.count)
    // Trimmed in batches, so that keeping a text is one append: memory stays bounded by twice
    // the texts a failure block can need.
    if ends.count >= 2 * LAVALogSections.shownLines {
      let dropped = ends.count - LAVALogSections.shownLines
      let cut = ends[dropped - 1]
      bytes.removeFirst(cut)
      ends.removeFirst(dropped)
      for index in ends.indices { ends[index] -= cut }
      lines = []
    }
  }
}
