/// A scalar resolved the way PyYAML (YAML 1.1) resolves it, since that is how LAVA reads a job.
package enum YAMLValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int)
  /// An integer that does not fit in 64 bits, as written. PyYAML reads it as a (big) integer, so
  /// it is not a string; the checks say it is too large instead of letting arithmetic overflow.
  case largeInt(String)
  case float(Double)
  case string(String)
}

extension YAMLNode {
  /// The resolved value of a scalar; nil for sequences and mappings.
  package var resolved: YAMLValue? {
    guard let scalar else { return nil }
    return YAMLValue.resolve(scalar, tag: tag)
  }

  package var string: String? {
    if case .string(let value) = resolved { return value }
    return nil
  }

  package var int: Int? {
    if case .int(let value) = resolved { return value }
    return nil
  }

  package var bool: Bool? {
    if case .bool(let value) = resolved { return value }
    return nil
  }

  package var isNull: Bool { resolved == .null }
}

extension YAMLValue {
  private static let yamlTagPrefix = "tag:yaml.org,2002:"

  package static func resolve(_ scalar: YAMLScalar, tag: String?) -> YAMLValue {
    if let tag {
      // An explicit standard tag forces the type; `!` and local tags leave a string.
      switch tag {
      case yamlTagPrefix + "str": return .string(scalar.value)
      case yamlTagPrefix + "null": return .null
      case yamlTagPrefix + "bool": return bool(scalar.value).map(YAMLValue.bool) ?? .string(scalar.value)
      case yamlTagPrefix + "int":
        return integer(scalar.value).map { resolved($0, text: scalar.value) } ?? .string(scalar.value)
      case yamlTagPrefix + "float":
        return float(scalar.value).map(YAMLValue.float) ?? .string(scalar.value)
      default: return .string(scalar.value)
      }
    }
    guard scalar.style == .plain else { return .string(scalar.value) }
    let text = scalar.value
    if isNull(text) { return .null }
    if let value = bool(text) { return .bool(value) }
    if let value = integer(text) { return resolved(value, text: text) }
    if let value = float(text) { return .float(value) }
    return .string(text)
  }

  private static func resolved(_ integer: Integer, text: String) -> YAMLValue {
    switch integer {
    case .value(let value): .int(value)
    case .tooLarge: .largeInt(text)
    }
  }

  package static func isNull(_ text: String) -> Bool {
    text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
  }

  package static func bool(_ text: String) -> Bool? {
    switch text {
    case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return true
    case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return false
    default: return nil
    }
  }

  /// YAML 1.1 integers: decimal, `0b`, `0x`, leading-zero octal, `_` separators, base 60 (`1:30`).
  /// Nil for a text that is not an integer, and for one that does not fit in an `Int`
  /// (see ``integer(_:)`` to tell the two apart).
  package static func int(_ text: String) -> Int? {
    if case .value(let value)? = integer(text) { return value }
    return nil
  }

  package enum Integer: Sendable, Hashable {
    case value(Int)
    /// Written as an integer, but outside `Int.min...Int.max`.
    case tooLarge
  }

  /// What `text` is as a YAML 1.1 integer; nil when it is not one. Every step is overflow-checked:
  /// the text comes from job definitions and LAVA logs, anyone's input.
  package static func integer(_ text: String) -> Integer? {
    var body = Substring(text)
    var negative = false
    if let sign = body.first, sign == "-" || sign == "+" {
      negative = sign == "-"
      body = body.dropFirst()
    }
    guard let first = body.first, first.isASCII, first.isNumber else { return nil }
    let digits = body.filter { $0 != "_" }
    if digits.hasPrefix("0b") {
      return accumulate(digits.utf8.dropFirst(2), radix: 2, negative: negative)
    } else if digits.hasPrefix("0x") {
      return accumulate(digits.utf8.dropFirst(2), radix: 16, negative: negative)
    } else if digits.contains(":") {
      return sexagesimal(digits, negative: negative)
    } else if digits.count > 1 && digits.hasPrefix("0") {
      return accumulate(digits.utf8.dropFirst(), radix: 8, negative: negative)
    } else {
      return accumulate(digits.utf8[...], radix: 10, negative: negative)
    }
  }

  /// The digits in `radix` (no sign, at least one digit), added towards the sign so that
  /// `Int.min` is read too.
  private static func accumulate(_ digits: Substring.UTF8View, radix: Int, negative: Bool) -> Integer? {
    guard !digits.isEmpty else { return nil }
    var total = 0
    var overflow = false
    for byte in digits {
      guard let digit = digitValue(byte), digit < radix else { return nil }
      if !overflow, let next = step(total, times: radix, plus: digit, negative: negative) {
        total = next
      } else {
        overflow = true
      }
    }
    return overflow ? .tooLarge : .value(total)
  }

  /// `1:30` is 90: base-10 head without a leading zero, then parts of up to two digits below 60.
  private static func sexagesimal(_ digits: String, negative: Bool) -> Integer? {
    let parts = digits.split(separator: ":", omittingEmptySubsequences: false)
    guard let head = parts.first, !head.hasPrefix("0"),
      let headValue = accumulate(head.utf8, radix: 10, negative: negative)
    else { return nil }
    var total: Int? = nil
    if case .value(let value) = headValue { total = value }
    for part in parts.dropFirst() {
      guard (1...2).contains(part.utf8.count),
        case .value(let value)? = accumulate(part.utf8, radix: 10, negative: false),
        value < 60
      else { return nil }
      total = total.flatMap { step($0, times: 60, plus: value, negative: negative) }
    }
    return total.map(Integer.value) ?? .tooLarge
  }

  /// `total * base ± digit`, or nil when it overflows.
  private static func step(_ total: Int, times base: Int, plus digit: Int, negative: Bool) -> Int? {
    let (shifted, overflowed) = total.multipliedReportingOverflow(by: base)
    guard !overflowed else { return nil }
    let (next, overflowedAgain) =
      negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
    return overflowedAgain ? nil : next
  }

  private static func digitValue(_ byte: UInt8) -> Int? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
    default: nil
    }
  }

  package static func float(_ text: String) -> Double? {
    switch text {
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
    case "-.inf", "-.Inf", "-.INF": return -.infinity
    case ".nan", ".NaN", ".NAN": return .nan
    default: break
    }
    // YAML 1.1 floats need a dot; `1e3` stays a string, as in PyYAML.
    guard text.contains("."), text.contains(where: \.isNumber) else { return nil }
    return Double(text.filter { $0 != "_" })
  }
}
