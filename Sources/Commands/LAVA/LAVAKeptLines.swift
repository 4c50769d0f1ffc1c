/// The last lines of rendered text an open section keeps for its failure block, split into
/// lines only when they are read.
///
/// Nearly every section ends without failing, and its kept lines are then never read: keeping
/// each rendered text whole (a reference, no copy) and splitting the last ones when a failure
/// block or a checkpoint asks for them saves splitting and copying every line of the log. Reading
/// gives exactly what splitting each text as it came and keeping the last
/// ``LAVALogSections/shownLines`` lines would: every text kept has at least one line, so the
/// last `shownLines` texts hold the last `shownLines` lines.
struct LAVAKeptLines: Sendable {
  /// Lines kept before the texts (restored from a checkpoint, or set).
  private var lines: [String]
  /// Rendered texts not yet split, oldest first, each with at least one line.
  private var texts: [String] = []

  init(_ lines: [String] = []) {
    self.lines = lines
  }

  /// The last ``LAVALogSections/shownLines`` lines, oldest first.
  var value: [String] {
    guard !texts.isEmpty else { return lines }
    var all = lines
    for text in texts { all += LAVALogSections.lines(of: text) }
    return Array(all.suffix(LAVALogSections.shownLines))
  }

  /// Keeps the lines of `rendered`, which must have one (`LAVALogFastPaths.hasLine`).
  mutating func append(_ rendered: String) {
    texts.append(rendered)
    // Trimmed in batches, so that keeping a text is one append: memory stays bounded by twice
    // the texts a failure block can need.
    if texts.count >= 2 * LAVALogSections.shownLines {
      texts.removeFirst(texts.count - LAVALogSections.shownLines)
      lines = []
    }
  }
}
