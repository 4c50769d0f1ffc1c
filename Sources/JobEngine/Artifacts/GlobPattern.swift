import Protocols
import RunnerCore

/// A path glob with the semantics of the doublestar library the official runner matches
/// artifact paths with: `*` and `?` never cross `/`, `**` as a whole path component matches
/// zero or more directories (`a/**` also matches `a` itself), `[abc]`, `[a-z]`, `[!a]`/`[^a]`,
/// `{x,y}` alternatives (which may contain `/`), and `\` escapes the next character.
/// A `**` that is not a whole component acts like `*`.
package struct GlobPattern: Sendable, Equatable, CustomStringConvertible {
  package let description: String
  /// The pattern with every `{…}` expanded, as Unicode scalars.
  private let alternatives: [[Unicode.Scalar]]

  /// More alternatives than this is a mistake in the pattern, not a real artifact list.
  package static let maximumAlternatives = 1024

  package init(_ pattern: String) throws(GlobPatternError) {
    description = pattern
    let expanded = try Self.expandBraces(Array(pattern.unicodeScalars), pattern: pattern)
    for alternative in expanded { try Self.validate(alternative, pattern: pattern) }
    alternatives = expanded
  }

  package func matches(_ path: String) -> Bool {
    let name = Array(path.unicodeScalars)
    return alternatives.contains { Self.match($0[...], name[...]) }
  }

  // MARK: Matching

  private static func match(_ pattern: ArraySlice<Unicode.Scalar>, _ name: ArraySlice<Unicode.Scalar>)
    -> Bool
  {
    var p = pattern.startIndex
    var n = name.startIndex
    while p < pattern.endIndex {
      let atSegmentStart = p == pattern.startIndex || pattern[p - 1] == "/"
      switch pattern[p] {
      case "*":
        var afterStars = p
        while afterStars < pattern.endIndex && pattern[afterStars] == "*" { afterStars += 1 }
        let isGlobstar = afterStars - p >= 2 && atSegmentStart
        if isGlobstar && afterStars == pattern.endIndex {
          return true
        }
        if isGlobstar && pattern[afterStars] == "/" {
          // Zero or more whole directories: retry the rest at each segment start.
          let rest = pattern[(afterStars + 1)...]
          var candidate = n
          while true {
            if match(rest, name[candidate...]) { return true }
            guard let slash = name[candidate...].firstIndex(of: "/") else { return false }
            candidate = slash + 1
          }
        }
        let rest = pattern[afterStars...]
        var candidate = n
        while true {
          if match(rest, name[candidate...]) { return true }
          guard candidate < name.endIndex, name[candidate] != "/" else { return false }
          candidate += 1
        }
      case "?":
        guard n < name.endIndex, name[n] != "/" else { return false }
        p += 1
        n += 1
      case "[":
        guard n < name.endIndex, name[n] != "/" else { return false }
        let (matched, end) = matchClass(pattern, openingAt: p, scalar: name[n])
        guard matched else { return false }
        p = end
        n += 1
      default:
        var literal = pattern[p]
        if literal == "\\" {
          p += 1
          literal = pattern[p]
        }
        guard n < name.endIndex, name[n] == literal else {
          return n == name.endIndex && isTrailingGlobstar(pattern[p...])
        }
        p += 1
        n += 1
      }
    }
    return n == name.endIndex
  }

  /// `a/**` and `a/**/` match the directory `a` itself: the `/**` tail matches nothing.
  private static func isTrailingGlobstar(_ rest: ArraySlice<Unicode.Scalar>) -> Bool {
    let text = String(String.UnicodeScalarView(rest))
    return text == "/**" || text == "/**/"
  }

  /// Matches one scalar against the class starting at `start` (`[`); returns whether it
  /// matched and the index after the closing `]`.
  private static func matchClass(
    _ pattern: ArraySlice<Unicode.Scalar>, openingAt start: Int, scalar: Unicode.Scalar
  ) -> (Bool, Int) {
    var i = start + 1
    let negated = pattern[i] == "!" || pattern[i] == "^"
    if negated { i += 1 }
    var matched = false
    var first = true
    while first || pattern[i] != "]" {
      first = false
      var low = pattern[i]
      if low == "\\" {
        i += 1
        low = pattern[i]
      }
      i += 1
      if pattern[i] == "-" && pattern[i + 1] != "]" {
        var high = pattern[i + 1]
        i += 2
        if high == "\\" {
          high = pattern[i]
          i += 1
        }
        if low.value <= scalar.value && scalar.value <= high.value { matched = true }
      } else if low == scalar {
        matched = true
      }
    }
    return (matched != negated, i + 1)
  }

  // MARK: Parsing

  /// Checks classes and escapes once, so matching can index without bounds worries.
  private static func validate(_ scalars: [Unicode.Scalar], pattern: String) throws(GlobPatternError) {
    var i = 0
    while i < scalars.count {
      switch scalars[i] {
      case "\\":
        guard i + 1 < scalars.count else { throw .danglingEscape(pattern) }
        i += 2
      case "[":
        var j = i + 1
        if j < scalars.count && (scalars[j] == "!" || scalars[j] == "^") { j += 1 }
        if j < scalars.count && scalars[j] == "]" { throw .emptyClass(pattern) }
        var first = true
        while j < scalars.count && (first || scalars[j] != "]") {
          first = false
          if scalars[j] == "\\" { j += 1 }
          j += 1
        }
        guard j < scalars.count else { throw .unclosedClass(pattern) }
        i = j + 1
      default:
        i += 1
      }
    }
  }

  private static func expandBraces(_ scalars: [Unicode.Scalar], pattern: String) throws(GlobPatternError)
    -> [[Unicode.Scalar]]
  {
    guard let open = firstUnescaped("{", in: scalars, from: 0) else { return [scalars] }
    var depth = 0
    var commas: [Int] = []
    var close: Int?
    var i = open
    while i < scalars.count {
      switch scalars[i] {
      case "\\": i += 1
      case "{": depth += 1
      case "}":
        depth -= 1
        if depth == 0 { close = i }
      case "," where depth == 1: commas.append(i)
      default: break
      }
      if close != nil { break }
      i += 1
    }
    guard let close else { throw .unclosedBrace(pattern) }
    let head = Array(scalars[..<open])
    let tail = Array(scalars[(close + 1)...])
    var results: [[Unicode.Scalar]] = []
    let bounds = [open] + commas + [close]
    for k in 0..<(bounds.count - 1) {
      let choice = Array(scalars[(bounds[k] + 1)..<bounds[k + 1]])
      for expanded in try expandBraces(head + choice + tail, pattern: pattern) {
        results.append(expanded)
        if results.count > maximumAlternatives { throw .tooManyAlternatives(pattern) }
      }
    }
    return results
  }

  private static func firstUnescaped(_ target: Unicode.Scalar, in scalars: [Unicode.Scalar], from: Int)
    -> Int?
  {
    var i = from
    while i < scalars.count {
      if scalars[i] == "\\" {
        i += 2
        continue
      }
      if scalars[i] == target { return i }
      i += 1
    }
    return nil
  }
}

package enum GlobPatternError: Error, Equatable, CustomStringConvertible {
  case unclosedClass(String)
  case emptyClass(String)
  case unclosedBrace(String)
  case danglingEscape(String)
  case tooManyAlternatives(String)

  package var description: String {
    switch self {
    case .unclosedClass(let pattern):
      return "artifact pattern '\(pattern)' opens a character class '[' that is never closed; "
        + "close it with ']' or escape the bracket as '\\['"
    case .emptyClass(let pattern):
      return "artifact pattern '\(pattern)' has an empty character class '[]'; list at least one "
        + "character, or escape the bracket as '\\['"
    case .unclosedBrace(let pattern):
      return "artifact pattern '\(pattern)' opens an alternative '{' that is never closed; "
        + "close it with '}' or escape the brace as '\\{'"
    case .danglingEscape(let pattern):
      return "artifact pattern '\(pattern)' ends with a lone '\\'; remove it or escape a character"
    case .tooManyAlternatives(let pattern):
      return "artifact pattern '\(pattern)' expands to more than "
        + "\(GlobPattern.maximumAlternatives) alternatives; simplify its '{…}' groups"
    }
  }
}
