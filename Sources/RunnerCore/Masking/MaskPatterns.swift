import Protocols

/// What a `SecretMasker` looks for, indexed by first byte so one pass over the log finds every
/// candidate occurrence.
///
/// A needle is a sequence of units, one per character; a unit matches any of its forms, so one
/// needle covers a secret written raw, JSON- or YAML-escaped, percent-encoded, or any mix of
/// these, without listing every combination. Everything is compared as UTF-8 bytes, never as
/// Swift `Character`s: a secret followed by a combining mark or a variation selector is a
/// different grapheme cluster but the same bytes, and must be hidden.
package struct MaskPatterns: Sendable {
  package enum Kind: Sendable {
    /// The needle itself is hidden.
    case secret
    /// The token characters after the needle are hidden.
    case tokenPrefix
    /// The URL parameter value after the needle (`?name=`, matched ignoring case) is hidden.
    case urlParameter
  }

  /// Which bytes of a form also match in the other ASCII case.
  package enum Folding: Sendable {
    case exact
    /// `a`–`f` also match `A`–`F` (hex digits of escapes, written in either case).
    case hexDigits
    /// Every ASCII letter matches either case (URL parameter names).
    case letters
  }

  /// One way of writing one unit: `count` bytes of `bytes` from `start`.
  ///
  /// 8 bytes a form, not 24: every job's masker holds several forms per character of each
  /// secret, and a runner holds a masker per job. A form writes one character: at most 12 bytes.
  package struct Form: Sendable {
    private let storedStart: UInt32
    private let storedCount: UInt8
    package var start: Int { Int(storedStart) }
    package var count: Int { Int(storedCount) }
    package let folding: Folding
    /// The byte the form starts with, and the same in the other case where folding allows:
    /// most forms are ruled out on these alone.
    package let first: UInt8
    package let firstOtherCase: UInt8

    init(start: Int, count: Int, folding: Folding, first: UInt8, firstOtherCase: UInt8) {
      // A secret's bytes are a job variable's: far below 4 GiB.
      storedStart = UInt32(start)
      storedCount = UInt8(count)
      self.folding = folding
      self.first = first
      self.firstOtherCase = firstOtherCase
    }
  }

  /// The forms of one unit, a range of `forms` stored in 32 bits a bound (8 bytes, not 16).
  package struct UnitForms: Sendable {
    private let lower: UInt32
    private let upper: UInt32
    package var range: Range<Int> { Int(lower)..<Int(upper) }

    init(_ range: Range<Int>) {
      lower = UInt32(range.lowerBound)
      upper = UInt32(range.upperBound)
    }
  }

  package struct Needle: Sendable {
    package let kind: Kind
    /// Indices into `unitForms`.
    package let units: Range<Int>
    /// The needle written raw (each unit's first form), in `bytes`: compared first, as one run.
    package let raw: Range<Int>
    package let rawFolding: Folding
  }

  package private(set) var needles: [Needle] = []
  /// For each unit, its range in `forms`; the first form is the one written raw.
  package private(set) var unitForms: [UnitForms] = []
  package private(set) var forms: [Form] = []
  package private(set) var bytes: [UInt8] = []
  /// For each byte value, the needles that may start with it: `firstByteNeedles` from
  /// `firstByteStarts[byte]` to `firstByteStarts[byte + 1]`.
  package private(set) var firstByteStarts = [Int](repeating: 0, count: 257)
  package private(set) var firstByteNeedles: [Int] = []
  /// Whether any needle may start with the byte: most log bytes are skipped on this alone.
  package private(set) var startsANeedle = [Bool](repeating: false, count: 256)
  /// Whether a form other than a unit's first (raw) one may start with the byte (`\`, `%`…):
  /// where it may not, only the raw form is compared.
  package private(set) var startsAnotherForm = [Bool](repeating: false, count: 256)
  /// Whether an occurrence, or the start of one, may begin with the two bytes `first, second`:
  /// bit `first << 8 | second`. A log byte that may start a needle is nearly always ruled out
  /// with the next byte on this alone (`g` not followed by `l`, `\` not followed by `u`…).
  package private(set) var startsWithPair = [UInt64](repeating: 0, count: 1 << 10)

  package init(secrets: [String], tokenPrefixes: [[UInt8]], urlParameterStarts: [[UInt8]]) {
    for secret in secrets {
      add(.secret, units: secret.unicodeScalars.map(MaskForms.forms(of:)))
    }
    for prefix in tokenPrefixes {
      add(.tokenPrefix, units: prefix.map { [([$0], .exact)] })
    }
    for start in urlParameterStarts {
      add(.urlParameter, units: start.map { [([lowercasedASCII($0)], .letters)] })
    }
    var byFirstByte = [[Int]](repeating: [], count: 256)
    for (index, needle) in needles.enumerated() {
      var firstBytes = Set<UInt8>()
      for form in forms[unitForms[needle.units.lowerBound].range] {
        firstBytes.insert(form.first)
        firstBytes.insert(form.firstOtherCase)
      }
      for first in firstBytes { byFirstByte[Int(first)].append(index) }
    }
    for unit in unitForms {
      for form in forms[unit.range].dropFirst() {
        startsAnotherForm[Int(form.first)] = true
        startsAnotherForm[Int(form.firstOtherCase)] = true
      }
    }
    for needle in needles { addPairs(of: needle) }
    for byte in 0..<256 {
      firstByteNeedles += byFirstByte[byte]
      firstByteStarts[byte + 1] = firstByteNeedles.count
      startsANeedle[byte] = !byFirstByte[byte].isEmpty
    }
    // Built by appending, the tables have up to twice the room they need; every job keeps its
    // own masker for as long as it runs, so keep only what is used.
    needles = Self.trimmed(needles)
    unitForms = Self.trimmed(unitForms)
    forms = Self.trimmed(forms)
    bytes = Self.trimmed(bytes)
    firstByteNeedles = Self.trimmed(firstByteNeedles)
    // The tables by byte value are alike in nearly every job: one buffer for all (issue 10).
    firstByteStarts = SharedMaskTables.shared(firstByteStarts)
    startsANeedle = SharedMaskTables.shared(startsANeedle)
    startsAnotherForm = SharedMaskTables.shared(startsAnotherForm)
    startsWithPair = SharedMaskTables.shared(startsWithPair)
  }

  /// `array` in a buffer of its own count (an append leaves room to grow).
  private static func trimmed<Element>(_ array: [Element]) -> [Element] {
    guard array.capacity > array.count else { return array }
    var copy: [Element] = []
    copy.reserveCapacity(array.count)
    copy.append(contentsOf: array)
    return copy
  }

  /// The tables as buffers, for the scan's inner loop (no reference counting per access).
  @inline(__always)
  package func withTables<Result>(_ body: (Tables) -> Result) -> Result {
    needles.withUnsafeBufferPointer { needles in
      unitForms.withUnsafeBufferPointer { unitForms in
        forms.withUnsafeBufferPointer { forms in
          bytes.withUnsafeBufferPointer { bytes in
            firstByteStarts.withUnsafeBufferPointer { firstByteStarts in
              firstByteNeedles.withUnsafeBufferPointer { firstByteNeedles in
                startsANeedle.withUnsafeBufferPointer { startsANeedle in
                  startsAnotherForm.withUnsafeBufferPointer { startsAnotherForm in
                    startsWithPair.withUnsafeBufferPointer { startsWithPair in
                      body(
                        Tables(
                          needles: needles, unitForms: unitForms, forms: forms, bytes: bytes,
                          firstByteStarts: firstByteStarts, firstByteNeedles: firstByteNeedles,
                          startsANeedle: startsANeedle, startsAnotherForm: startsAnotherForm,
                          startsWithPair: startsWithPair))
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  package struct Tables {
    package let needles: UnsafeBufferPointer<Needle>
    package let unitForms: UnsafeBufferPointer<UnitForms>
    package let forms: UnsafeBufferPointer<Form>
    package let bytes: UnsafeBufferPointer<UInt8>
    package let firstByteStarts: UnsafeBufferPointer<Int>
    package let firstByteNeedles: UnsafeBufferPointer<Int>
    package let startsANeedle: UnsafeBufferPointer<Bool>
    package let startsAnotherForm: UnsafeBufferPointer<Bool>
    package let startsWithPair: UnsafeBufferPointer<UInt64>

    /// Whether an occurrence may begin with `first, second` (see `startsWithPair`).
    @inline(__always)
    package func mayStart(_ first: UInt8, _ second: UInt8) -> Bool {
      let pair = Int(first) &<< 8 | Int(second)
      return startsWithPair[pair &>> 6] & (1 &<< UInt64(pair & 63)) != 0
    }
  }

  /// Marks in `startsWithPair` every pair of bytes a match of `needle` may begin with: the
  /// first two bytes of a form of its first unit, or a one-byte form followed by the first byte
  /// of a form of the second unit, each byte in every case its folding accepts. A needle of one
  /// one-byte unit may be followed by anything.
  private mutating func addPairs(of needle: Needle) {
    let units = needle.units
    var nextFirsts: Set<UInt8> = []
    if units.count > 1 {
      for form in forms[unitForms[units.lowerBound + 1].range] {
        nextFirsts.insert(form.first)
        nextFirsts.insert(form.firstOtherCase)
      }
    }
    for form in forms[unitForms[units.lowerBound].range] {
      let seconds: Set<UInt8> =
        if form.count > 1 {
          Self.accepted(bytes[form.start + 1], form.folding)
        } else if units.count > 1 {
          nextFirsts
        } else {
          Set(0...255)
        }
      for first in [form.first, form.firstOtherCase] {
        for second in seconds {
          let pair = Int(first) << 8 | Int(second)
          startsWithPair[pair >> 6] |= 1 << UInt64(pair & 63)
        }
      }
    }
  }

  /// The input bytes a form's byte matches under `folding` (a superset is harmless).
  private static func accepted(_ byte: UInt8, _ folding: Folding) -> Set<UInt8> {
    switch folding {
    case .exact: [byte]
    case .hexDigits, .letters: [byte, lowercasedASCII(byte), uppercasedASCII(byte)]
    }
  }

  private mutating func add(_ kind: Kind, units: [[(bytes: [UInt8], folding: Folding)]]) {
    guard !units.isEmpty else { return }
    let firstUnit = unitForms.count
    for unit in units {
      let firstForm = forms.count
      for (formBytes, folding) in unit where !formBytes.isEmpty {
        let first = formBytes[0]
        let otherCase =
          switch folding {
          case .exact: first
          case .hexDigits: (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(first) ? first - 32 : first
          case .letters: uppercasedASCII(first)
          }
        forms.append(
          Form(
            start: bytes.count, count: formBytes.count, folding: folding, first: first,
            firstOtherCase: otherCase))
        bytes.append(contentsOf: formBytes)
      }
      unitForms.append(UnitForms(firstForm..<forms.count))
    }
    let rawStart = bytes.count
    for unit in units { bytes += unit[0].bytes }
    needles.append(
      Needle(
        kind: kind, units: firstUnit..<unitForms.count, raw: rawStart..<bytes.count,
        rawFolding: units[0][0].folding))
  }
}

/// The forms of one character of a secret: how encoders that put text into JSON, YAML or URLs
/// may have written it.
package enum MaskForms {
  package typealias Form = (bytes: [UInt8], folding: MaskPatterns.Folding)

  package static func forms(of scalar: Unicode.Scalar) -> [Form] {
    let raw = Array(String(Character(scalar)).utf8)
    var forms: [Form] = [(raw, .exact)]
    let value = scalar.value
    // JSON and YAML double-quoted escapes.
    if let short = shortEscapes[value] { forms.append((Array("\\\(short)".utf8), .exact)) }
    if value <= 0xFFFF {
      forms.append((Array("\\u\(hex(value, digits: 4))".utf8), .hexDigits))
    } else {
      let offset = value - 0x10000
      let high = 0xD800 + (offset >> 10)
      let low = 0xDC00 + (offset & 0x3FF)
      forms.append((Array("\\u\(hex(high, digits: 4))\\u\(hex(low, digits: 4))".utf8), .hexDigits))
    }
    if value <= 0xFF { forms.append((Array("\\x\(hex(value, digits: 2))".utf8), .hexDigits)) }
    forms.append((Array("\\U\(hex(value, digits: 8))".utf8), .hexDigits))
    // YAML single-quoted.
    if scalar == "'" { forms.append((Array("''".utf8), .exact)) }
    // Percent-encoding, and `+` for a space in a query.
    forms.append((raw.flatMap { Array("%\(hex(UInt32($0), digits: 2))".utf8) }, .hexDigits))
    if scalar == " " { forms.append((Array("+".utf8), .exact)) }
    return forms
  }

  /// JSON's two-character escapes, with YAML's additions.
  private static let shortEscapes: [UInt32: String] = [
    0x22: "\"", 0x5C: "\\", 0x2F: "/", 0x08: "b", 0x0C: "f", 0x0A: "n", 0x0D: "r", 0x09: "t",
    0x00: "0", 0x07: "a", 0x0B: "v", 0x1B: "e", 0x20: " ", 0x85: "N", 0xA0: "_", 0x2028: "L",
    0x2029: "P",
  ]

  private static func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }
}

package func lowercasedASCII(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
}

package func uppercasedASCII(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
}
