import Foundation
import RunnerCore

extension FuzzTarget {
  /// The job log masker, differentially: the same text masked whole and in pieces cut anywhere
  /// gives the same bytes, and no planted secret is left in them.
  ///
  /// Input layout (each field one byte, missing bytes read as 0): the number of secrets (1–3);
  /// per secret its length (1–24), where to plant it in the text and its bytes; the number of
  /// cuts (0–15) and where they fall; the rest is the text. A secret holding `[` or `]`, or
  /// inside `[MASKED]`, is dropped: the mask itself would then show it.
  static let secretMasker = FuzzTarget(
    name: "secret-masker", summary: "RunnerCore SecretMasker: split-invariant, no planted secret left"
  ) { data in
    var reader = ByteReader(data)
    var secrets: [[UInt8]] = []
    var plants: [(secret: [UInt8], at: UInt8)] = []
    for _ in 0..<(1 + Int(reader.byte()) % 3) {
      let length = 1 + Int(reader.byte()) % 24
      let at = reader.byte()
      let secret = Array(String(decoding: reader.bytes(length), as: UTF8.self).utf8)
      guard MaskerProperty.canBeChecked(secret) else { continue }
      secrets.append(secret)
      plants.append((secret, at))
    }
    let cutCount = Int(reader.byte()) % 16
    let cuts = (0..<cutCount).map { _ in reader.byte() }
    var text = [UInt8](reader.rest())
    for plant in plants {
      let at = Int(plant.at) * text.count / 256
      text.insert(contentsOf: plant.secret, at: at)
    }
    let strings = secrets.map { String(decoding: $0, as: UTF8.self) }

    var whole = SecretMasker(secrets: strings)
    let once = whole.write(text) + whole.flush()

    var pieces = SecretMasker(secrets: strings)
    var split: [UInt8] = []
    var start = 0
    for cut in cuts.map({ Int($0) * (text.count + 1) / 256 }).sorted() where cut >= start {
      split += pieces.write(text[start..<cut])
      start = cut
    }
    split += pieces.write(text[start...]) + pieces.flush()
    fuzzCheck(split == once, "cut at \(cuts) the output differs from the whole text's")

    for secret in secrets {
      fuzzCheck(
        !MaskerProperty.contains(once, secret),
        "the secret \(String(decoding: secret, as: UTF8.self).debugDescription) is in the output")
    }
    if let string = String(validating: text, as: UTF8.self) {
      let masked = SecretMasker(secrets: strings).mask(string)
      fuzzCheck(Array(masked.utf8) == once, "mask(_:) differs from write and flush")
    }
  }
}

enum MaskerProperty {
  static let mask = Array("[MASKED]".utf8)

  static func canBeChecked(_ secret: [UInt8]) -> Bool {
    !secret.isEmpty && !secret.contains(UInt8(ascii: "[")) && !secret.contains(UInt8(ascii: "]"))
      && !contains(mask, secret)
  }

  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<start + needle.count].elementsEqual(needle) {
      return true
    }
    return false
  }
}

/// Reads an input field by field; past the end every field is 0 and every run empty.
struct ByteReader {
  private let data: [UInt8]
  private var offset = 0

  init(_ data: Data) { self.data = [UInt8](data) }

  mutating func byte() -> UInt8 {
    guard offset < data.count else { return 0 }
    defer { offset += 1 }
    return data[offset]
  }

  mutating func bytes(_ count: Int) -> ArraySlice<UInt8> {
    let end = min(data.count, offset + count)
    defer { offset = end }
    return data[min(offset, end)..<end]
  }

  mutating func rest() -> ArraySlice<UInt8> {
    bytes(data.count)
  }
}
