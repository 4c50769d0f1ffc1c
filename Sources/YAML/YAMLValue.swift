/// A scalar resolved the way PyYAML (YAML 1.1) resolves it, since that is how LAVA reads a job.
package enum YAMLValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int)
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
      case yamlTagPrefix + "int": return int(scalar.value).map(YAMLValue.int) ?? .string(scalar.value)
      case yamlTagPrefix + "float":
        return float(scalar.value).map(YAMLValue.float) ?? .string(scalar.value)
      default: return .string(scalar.value)
      }
    }
    guard scalar.style == .plain else { return .string(scalar.value) }
    let text = scalar.value
    if isNull(text) { return .null }
    if let value = bool(text) { return .bool(value) }
    if let value = int(text) { return .int(value) }
    if let value = float(text) { return .float(value) }
    return .string(text)
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
  package static func int(_ text: String) -> Int? {
    var body = Substring(text)
    var negative = false
    if let sign = body.first, sign == "-" || sign == "+" {
      negative = sign == "-"
      body = body.dropFirst()
    }
    guard let first = body.first, first.isASCII, first.isNumber else { return nil }
    let digits = body.filter { $0 != "_" }
    let magnitude: Int?
    if digits.hasPrefix("0b") {
      magnitude = Int(digits.dropFirst(2), radix: 2)
    } else if digits.hasPrefix("0x") {
      magnitude = Int(digits.dropFirst(2), radix: 16)
    } else if digits.contains(":") {
      magnitude = sexagesimal(digits)
    } else if digits.count > 1 && digits.hasPrefix("0") {
      magnitude = Int(digits.dropFirst(), radix: 8)
    } else {
      magnitude = Int(digits, radix: 10)
    }
    guard let magnitude else { return nil }
    return negative ? -magnitude : magnitude
  }

  private static func sexagesimal(_ digits: String) -> Int? {
    let parts = digits.split(separator: ":", omittingEmptySubsequences: false)
    guard let head = parts.first, !head.hasPrefix("0"), var total = Int(head, radix: 10) else { return nil }
    for part in parts.dropFirst() {
      guard part.count <= 2, let value = Int(part, radix: 10), value < 60 else { return nil }
      total = total * 60 + value
    }
    return total
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
