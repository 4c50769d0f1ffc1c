/// The device's last target lines a ``LAVAJobError`` keeps for the failure summary, split and
/// cleaned only when they are read.
///
/// Nearly every job's summary never shows them: keeping each target text whole (a reference, no
/// copy) and splitting the last ones when the summary or a checkpoint reads them saves splitting
/// and cleaning every target line of the log. Reading gives exactly what splitting each text as it
/// came and keeping the last `limit` lines would: every text splits into at least one line, so
/// the last `limit` texts hold the last `limit` lines. Encoded as the lines, as before.
@propertyWrapper
struct LAVAKeptTargetLines: Sendable, Equatable, Codable {
  static let limit = 30
  /// Lines kept before the texts (restored from a checkpoint, or set).
  private var lines: [String]
  /// Target texts not yet split, oldest first.
  private var texts: [String] = []

  init(wrappedValue: [String]) {
    lines = wrappedValue
  }

  /// The last ``limit`` lines, oldest first.
  var wrappedValue: [String] {
    get {
      guard !texts.isEmpty else { return lines }
      var all = lines
      for text in texts {
        for piece in LAVALogRenderer.split(text) { all.append(LAVALogRenderer.clean(piece)) }
      }
      return Array(all.suffix(Self.limit))
    }
    set {
      lines = newValue
      texts = []
    }
  }

  /// Keeps the lines of a target text.
  mutating func append(_ text: String) {
    texts.append(text)
    // Trimmed in batches, so that keeping a text is one append.
    if texts.count >= 2 * Self.limit {
      texts.removeFirst(texts.count - Self.limit)
      lines = []
    }
  }

  static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.wrappedValue == rhs.wrappedValue
  }

  init(from decoder: any Decoder) throws {
    lines = try decoder.singleValueContainer().decode([String].self)
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(wrappedValue)
  }
}
