/// Byte-level search for tests about secrets: `String.contains` compares grapheme clusters, so a
/// secret followed by a combining mark would look absent while its bytes are all there.
extension Sequence<UInt8> {
  /// Whether `text`'s UTF-8 bytes occur in order, adjacent, anywhere in these bytes.
  public func containsBytes(of text: String) -> Bool {
    let bytes = Array(self)
    let needle = Array(text.utf8)
    guard !needle.isEmpty, needle.count <= bytes.count else { return needle.isEmpty }
    return (0...(bytes.count - needle.count)).contains { start in
      bytes[start..<(start + needle.count)].elementsEqual(needle)
    }
  }
}

extension String {
  /// Whether `text`'s UTF-8 bytes occur in this string's UTF-8 bytes.
  public func containsBytes(of text: String) -> Bool { utf8.containsBytes(of: text) }
}
