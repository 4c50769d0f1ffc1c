/// A regular expression matched in time linear in the text: the pattern compiles to a Thompson
/// NFA that is run as a Pike VM (a set of states per byte, as RE2 does), so a match costs at
/// most O(program size × text bytes) steps whatever the pattern; no backtracking.
///
/// The subset known-issue patterns need, on UTF-8 bytes: literals; escapes `\. \\ \t \n \r`
/// and any escaped punctuation; `\d \w \s \D \W \S` (ASCII classes); `\b \B`; `.`; classes
/// `[a-z0-9_]`, `[^…]`; `* + ?` (lazy forms accepted: only whether it matches counts),
/// `{m}`, `{m,}`, `{m,n}`, `{,n}` with n at most ``maximumRepeat``; `|`; groups `( )`, `(?: )`,
/// `(?<name> )`; anchors `^ $`; `(?i)` and `(?i: )` for ASCII case-insensitivity. Everything
/// else (backreferences, lookarounds, possessive quantifiers, other escapes) is refused.
public struct LinearRegex: Sendable {
  public static let maximumRepeat = 100
  public static let maximumProgramSize = 5_000

  enum Instruction: Sendable {
    case byte(ByteSet)
    case split(Int, Int)
    case jump(Int)
    case lineStart, lineEnd
    case wordBoundary(Bool)
    case match
  }

  let program: [Instruction]
  public var programSize: Int { program.count }

  public init(_ pattern: String) throws(LinearRegexError) {
    var parser = LinearRegexParser(Array(pattern.unicodeScalars))
    let tree = try parser.parseAll()
    var compiler = LinearRegexCompiler()
    try compiler.emit(tree)
    compiler.program.append(.match)
    program = compiler.program
  }

  /// Whether the pattern matches somewhere in `text` (its UTF-8 bytes).
  public func matches(_ text: String) -> Bool { run(text).matched }

  public func matches(_ bytes: some Collection<UInt8>) -> Bool { run(bytes).matched }

  /// Whether it matches, and the steps taken: never more than 2 × ``programSize`` × (bytes + 1).
  public func run(_ text: String) -> (matched: Bool, steps: Int) {
    var text = text
    return text.withUTF8 { run($0) }
  }

  public func run(_ bytes: some Collection<UInt8>) -> (matched: Bool, steps: Int) {
    if let result = bytes.withContiguousStorageIfAvailable({ run($0) }) { return result }
    return Array(bytes).withUnsafeBufferPointer { run($0) }
  }

  private func run(_ text: UnsafeBufferPointer<UInt8>) -> (matched: Bool, steps: Int) {
    let count = text.count
    // marks[pc] == position + 1: pc is already in the list for that position.
    var marks = [Int](repeating: 0, count: program.count)
    var current: [Int] = []
    var next: [Int] = []
    var stack: [Int] = []
    current.reserveCapacity(program.count)
    next.reserveCapacity(program.count)
    var steps = 0

    func isWord(_ byte: UInt8) -> Bool { ByteSet.word.contains(byte) }
    // Adds pc and what it reaches without reading a byte to `list`, for `position`.
    func add(_ pc: Int, at position: Int, to list: inout [Int]) -> Bool {
      stack.append(pc)
      while let pc = stack.popLast() {
        guard marks[pc] != position + 1 else { continue }
        marks[pc] = position + 1
        steps += 1
        switch program[pc] {
        case .byte: list.append(pc)
        case .match: return true
        case .jump(let target): stack.append(target)
        case .split(let first, let second):
          stack.append(second)
          stack.append(first)
        case .lineStart: if position == 0 { stack.append(pc + 1) }
        case .lineEnd: if position == count { stack.append(pc + 1) }
        case .wordBoundary(let wanted):
          let before = position > 0 && isWord(text[position - 1])
          let after = position < count && isWord(text[position])
          if (before != after) == wanted { stack.append(pc + 1) }
        }
      }
      return false
    }

    for position in 0...count {
      // Unanchored: a match may start at every position.
      if add(0, at: position, to: &current) {
        stack.removeAll()
        return (true, steps)
      }
      guard position < count else { break }
      let byte = text[position]
      next.removeAll(keepingCapacity: true)
      for pc in current {
        steps += 1
        guard case .byte(let set) = program[pc], set.contains(byte) else { continue }
        if add(pc + 1, at: position + 1, to: &next) {
          stack.removeAll()
          return (true, steps)
        }
      }
      swap(&current, &next)
    }
    return (false, steps)
  }
}

/// Why a pattern is refused, with the 1-based character where the problem is.
public struct LinearRegexError: Error, Sendable, Equatable, CustomStringConvertible {
  public var column: Int
  public var reason: String
  public var description: String { "\(reason) (at character \(column))" }
}

/// A set of bytes, one bit each.
struct ByteSet: Sendable, Equatable {
  var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

  static func == (a: ByteSet, b: ByteSet) -> Bool { a.words == b.words }

  func contains(_ byte: UInt8) -> Bool {
    let bit = UInt64(1) << UInt64(byte & 63)
    switch byte >> 6 {
    case 0: return words.0 & bit != 0
    case 1: return words.1 & bit != 0
    case 2: return words.2 & bit != 0
    default: return words.3 & bit != 0
    }
  }

  mutating func insert(_ byte: UInt8) {
    let bit = UInt64(1) << UInt64(byte & 63)
    switch byte >> 6 {
    case 0: words.0 |= bit
    case 1: words.1 |= bit
    case 2: words.2 |= bit
    default: words.3 |= bit
    }
  }

  mutating func insert(_ range: ClosedRange<UInt8>) { for byte in range { insert(byte) } }

  mutating func formUnion(_ other: ByteSet) {
    words = (
      words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3
    )
  }

  /// The ASCII bytes not in this set (bytes above 0x7F are handled as whole characters).
  var asciiComplement: ByteSet { ByteSet(words: (~words.0, ~words.1, 0, 0)) }

  static func of(_ bytes: ClosedRange<UInt8>...) -> ByteSet {
    var set = ByteSet()
    for range in bytes { set.insert(range) }
    return set
  }

  static let digit = of(0x30...0x39)
  static let word = of(0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F)
  static let space = of(0x09...0x0D, 0x20...0x20)
  static let continuation = of(0x80...0xBF)
}

indirect enum LinearRegexNode: Sendable {
  case empty
  /// One ASCII byte from the set, or (when `anyMultibyte`) one whole non-ASCII character.
  case set(ByteSet, anyMultibyte: Bool)
  case bytes([UInt8])
  case concatenation([LinearRegexNode])
  case alternation([LinearRegexNode])
  case repetition(LinearRegexNode, minimum: Int, maximum: Int?)
  case lineStart, lineEnd
  case wordBoundary(Bool)
}

struct LinearRegexParser {
  let scalars: [Unicode.Scalar]
  var index = 0

  init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

  func fail(_ reason: String, at position: Int? = nil) -> LinearRegexError {
    LinearRegexError(column: (position ?? index) + 1, reason: reason)
  }

  var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

  func peek(_ text: String) -> Bool {
    let wanted = Array(text.unicodeScalars)
    return index + wanted.count <= scalars.count && Array(scalars[index..<index + wanted.count]) == wanted
  }

  mutating func parseAll() throws(LinearRegexError) -> LinearRegexNode {
    var caseless = false
    let node = try parseAlternation(&caseless, depth: 0)
    if index < scalars.count { throw fail("has an unmatched ')'") }
    return node
  }

  mutating func parseAlternation(_ caseless: inout Bool, depth: Int) throws(LinearRegexError)
    -> LinearRegexNode
  {
    guard depth < 100 else { throw fail("nests groups more than 100 deep") }
    var branches = [try parseConcatenation(&caseless, depth: depth)]
    while peek == "|" {
      index += 1
      branches.append(try parseConcatenation(&caseless, depth: depth))
    }
    return branches.count == 1 ? branches[0] : .alternation(branches)
  }

  mutating func parseConcatenation(_ caseless: inout Bool, depth: Int) throws(LinearRegexError)
    -> LinearRegexNode
  {
    var items: [LinearRegexNode] = []
    while let scalar = peek, scalar != "|", scalar != ")" {
      guard var atom = try parseAtom(&caseless, depth: depth) else { continue }
      while let quantifier = peek, "*+?{".unicodeScalars.contains(quantifier) {
        if case .lineStart = atom { throw fail("repeats an anchor", at: index) }
        let (minimum, maximum) = try parseQuantifier()
        if peek == "+" { throw fail("uses a possessive quantifier, which is not supported", at: index) }
        if peek == "?" { index += 1 }  // Lazy: the same answer to "does it match".
        atom = .repetition(atom, minimum: minimum, maximum: maximum)
      }
      items.append(atom)
    }
    return items.count == 1 ? items[0] : .concatenation(items)
  }

  mutating func parseQuantifier() throws(LinearRegexError) -> (Int, Int?) {
    let start = index
    let scalar = scalars[index]
    index += 1
    switch scalar {
    case "*": return (0, nil)
    case "+": return (1, nil)
    case "?": return (0, 1)
    default: break
    }
    func number() -> Int? {
      var digits = ""
      while let digit = peek, ("0"..."9").contains(digit), digits.count < 6 {
        digits.unicodeScalars.append(digit)
        index += 1
      }
      return Int(digits)
    }
    let minimum = number()
    var maximum = minimum
    var sawComma = false
    if peek == "," {
      index += 1
      sawComma = true
      maximum = number()
    }
    guard peek == "}", minimum != nil || maximum != nil else {
      throw fail(
        "has a '{' that is not a repetition like {2}, {2,5} or {2,}; write \\{ for a brace", at: start)
    }
    index += 1
    let low = minimum ?? 0
    let high: Int? = sawComma && maximum == nil ? nil : maximum
    if let high, high < low {
      throw fail("has a repetition {\(low),\(high)} whose maximum is below its minimum", at: start)
    }
    if max(low, high ?? 0) > LinearRegex.maximumRepeat {
      throw fail("repeats more than \(LinearRegex.maximumRepeat) times", at: start)
    }
    return (low, high)
  }

  mutating func parseAtom(_ caseless: inout Bool, depth: Int) throws(LinearRegexError) -> LinearRegexNode? {
    let start = index
    let scalar = scalars[index]
    index += 1
    switch scalar {
    case "(":
      if peek("?=") || peek("?!") || peek("?<=") || peek("?<!") {
        throw fail("uses a lookaround, which this runner does not support", at: start)
      }
      var inner = caseless
      if peek("?i)") {
        index += 3
        caseless = true
        return nil
      }
      if peek("?:") {
        index += 2
      } else if peek("?i:") {
        index += 3
        inner = true
      } else if peek("?<") || peek("?P<") {
        index += peek("?<") ? 2 : 3
        while let name = peek, name != ">" { index += 1 }
        guard peek == ">" else { throw fail("has a group name without its '>'", at: start) }
        index += 1
      } else if peek == "?" {
        throw fail(
          "uses a group option '(?' that is not supported (only (?: ), (?<name> ), (?i) and (?i: ))",
          at: start)
      }
      let node = try parseAlternation(&inner, depth: depth + 1)
      guard peek == ")" else {
        throw fail("is not a valid regular expression: '(' is never closed", at: start)
      }
      index += 1
      return node
    case "*", "+", "?", "{":
      throw fail("has a '\(scalar)' with nothing to repeat", at: start)
    case "^": return .lineStart
    case "$": return .lineEnd
    case ".":
      return .set(ByteSet.of(0x00...0x09, 0x0B...0x7F), anyMultibyte: true)
    case "[": return try parseClass(caseless, start: start)
    case "\\":
      let (set, multibyte) = try parseEscape(inClass: false)
      if let set { return .set(set, anyMultibyte: multibyte) }
      return multibyte ? .wordBoundary(false) : .wordBoundary(true)
    default:
      return literal(scalar, caseless)
    }
  }

  func literal(_ scalar: Unicode.Scalar, _ caseless: Bool) -> LinearRegexNode {
    guard scalar.isASCII else { return .bytes(Array(String(scalar).utf8)) }
    var set = ByteSet()
    set.insert(UInt8(scalar.value))
    if caseless { set.formUnion(Self.otherCase(UInt8(scalar.value))) }
    return .set(set, anyMultibyte: false)
  }

  static func otherCase(_ byte: UInt8) -> ByteSet {
    var set = ByteSet()
    if (0x41...0x5A).contains(byte) { set.insert(byte + 0x20) }
    if (0x61...0x7A).contains(byte) { set.insert(byte - 0x20) }
    return set
  }

  /// After a backslash: the set it stands for and whether non-ASCII characters are in it; a nil
  /// set is `\b` (false) or `\B` (true).
  mutating func parseEscape(inClass: Bool) throws(LinearRegexError) -> (ByteSet?, Bool) {
    let start = index - 1
    guard let scalar = peek else { throw fail("ends with a lone backslash", at: start) }
    index += 1
    switch scalar {
    case "d": return (.digit, false)
    case "w": return (.word, false)
    case "s": return (.space, false)
    case "D": return (ByteSet.digit.asciiComplement, true)
    case "W": return (ByteSet.word.asciiComplement, true)
    case "S": return (ByteSet.space.asciiComplement, true)
    case "t": return (.of(0x09...0x09), false)
    case "n": return (.of(0x0A...0x0A), false)
    case "r": return (.of(0x0D...0x0D), false)
    case "b" where !inClass: return (nil, false)
    case "B" where !inClass: return (nil, true)
    case "1"..."9", "k", "g":
      throw fail("uses a backreference (\\\(scalar)), which this runner does not support", at: start)
    default:
      guard scalar.isASCII, !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else {
        throw fail("uses the escape \\\(scalar), which is not supported", at: start)
      }
      return (.of(UInt8(scalar.value)...UInt8(scalar.value)), false)
    }
  }

  mutating func parseClass(_ caseless: Bool, start: Int) throws(LinearRegexError) -> LinearRegexNode {
    var set = ByteSet()
    var multibyte = false
    var others: [Unicode.Scalar] = []
    let negated = peek == "^"
    if negated { index += 1 }
    var first = true
    while true {
      guard let scalar = peek else { throw fail("has a '[' that is never closed", at: start) }
      if scalar == "]" && !first { break }
      first = false
      index += 1
      if scalar == "[" && (peek == ":" || peek == "=" || peek == ".") {
        throw fail("uses a POSIX class or nested class, which is not supported", at: index - 1)
      }
      var low: UInt8
      if scalar == "\\" {
        let (escaped, many) = try parseEscape(inClass: true)
        guard let escaped else { throw fail("uses \\b in a class", at: index - 2) }
        if !isSingle(escaped) {
          set.formUnion(escaped)
          multibyte = multibyte || many
          continue
        }
        low = singleByte(escaped)
      } else if !scalar.isASCII {
        guard !negated else {
          throw fail("has a non-ASCII character in a negated class, which is not supported", at: index - 1)
        }
        if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
          throw fail("has a range of non-ASCII characters, which is not supported", at: index - 1)
        }
        others.append(scalar)
        continue
      } else {
        low = UInt8(scalar.value)
      }
      if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
        index += 1
        let highScalar = scalars[index]
        index += 1
        var high: UInt8
        if highScalar == "\\" {
          let (escaped, _) = try parseEscape(inClass: true)
          guard let escaped, isSingle(escaped) else {
            throw fail("has a range ending in a class", at: index - 2)
          }
          high = singleByte(escaped)
        } else {
          guard highScalar.isASCII else {
            throw fail("has a range of non-ASCII characters, which is not supported", at: index - 1)
          }
          high = UInt8(highScalar.value)
        }
        guard low <= high else { throw fail("has a range whose end comes before its start", at: index - 1) }
        for byte in low...high {
          set.insert(byte)
          if caseless { set.formUnion(Self.otherCase(byte)) }
        }
      } else {
        set.insert(low)
        if caseless { set.formUnion(Self.otherCase(low)) }
      }
    }
    index += 1
    if negated { return .set(set.asciiComplement, anyMultibyte: !multibyte) }
    let node = LinearRegexNode.set(set, anyMultibyte: multibyte)
    guard !others.isEmpty else { return node }
    return .alternation([node] + others.map { .bytes(Array(String($0).utf8)) })
  }

  func isSingle(_ set: ByteSet) -> Bool { (0...255).filter { set.contains(UInt8($0)) }.count == 1 }
  func singleByte(_ set: ByteSet) -> UInt8 { UInt8((0...255).first { set.contains(UInt8($0)) }!) }
}

struct LinearRegexCompiler {
  var program: [LinearRegex.Instruction] = []

  mutating func append(_ instruction: LinearRegex.Instruction) throws(LinearRegexError) {
    guard program.count < LinearRegex.maximumProgramSize else {
      throw LinearRegexError(
        column: 1,
        reason:
          "compiles to more than \(LinearRegex.maximumProgramSize) instructions; repeat less ({m,n} copies what it repeats)"
      )
    }
    program.append(instruction)
  }

  mutating func emit(_ node: LinearRegexNode) throws(LinearRegexError) {
    switch node {
    case .empty: break
    case .set(let set, let anyMultibyte):
      guard anyMultibyte else { return try append(.byte(set)) }
      // One ASCII byte from the set, or a lead byte and its continuation bytes.
      let multibyte: [LinearRegexNode] = [
        .concatenation([
          .set(.of(0xC2...0xDF), anyMultibyte: false), .set(.continuation, anyMultibyte: false),
        ]),
        .concatenation(
          [.set(.of(0xE0...0xEF), anyMultibyte: false)]
            + Array(repeating: .set(.continuation, anyMultibyte: false), count: 2)),
        .concatenation(
          [.set(.of(0xF0...0xF4), anyMultibyte: false)]
            + Array(repeating: .set(.continuation, anyMultibyte: false), count: 3)),
      ]
      try emit(.alternation([.set(set, anyMultibyte: false)] + multibyte))
    case .bytes(let bytes):
      for byte in bytes { try append(.byte(.of(byte...byte))) }
    case .concatenation(let items):
      for item in items { try emit(item) }
    case .alternation(let branches):
      var jumps: [Int] = []
      for (offset, branch) in branches.enumerated() {
        if offset < branches.count - 1 {
          let split = program.count
          try append(.split(split + 1, -1))
          try emit(branch)
          jumps.append(program.count)
          try append(.jump(-1))
          program[split] = .split(split + 1, program.count)
        } else {
          try emit(branch)
        }
      }
      for jump in jumps { program[jump] = .jump(program.count) }
    case .repetition(let body, let minimum, let maximum):
      for _ in 0..<minimum { try emit(body) }
      if let maximum {
        // Each optional copy may be skipped to the end.
        var splits: [Int] = []
        for _ in minimum..<maximum {
          splits.append(program.count)
          try append(.split(program.count + 1, -1))
          try emit(body)
        }
        for split in splits { program[split] = .split(split + 1, program.count) }
      } else {
        let loop = program.count
        try append(.split(loop + 1, -1))
        try emit(body)
        try append(.jump(loop))
        program[loop] = .split(loop + 1, program.count)
      }
    case .lineStart: try append(.lineStart)
    case .lineEnd: try append(.lineEnd)
    case .wordBoundary(let wanted): try append(.wordBoundary(wanted))
    }
  }
}
