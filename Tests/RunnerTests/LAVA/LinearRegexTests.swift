import Foundation
import TestSupport
import Testing

@testable import Commands

/// The known-issue matcher: Swift's `Regex` answers on the supported subset, in a number of steps
/// bounded by pattern size × line length whatever the pattern.
@Suite("LinearRegex")
struct LinearRegexTests {
  /// A random pattern of the supported subset (ASCII, no `\b`: Swift's default word boundary is
  /// Unicode's, which differs on purpose).
  struct PatternMaker {
    var random: SplitMix64

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    mutating func atom(_ depth: Int) -> String {
      if depth < 1, chance(20) {
        return pick(["(", "(?:"]) + alternation(depth + 1) + ")"
      }
      return pick([
        "a", "b", "x", "y", "1", " ", "A", ".", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\.", "[a-b]",
        "[^a]",
        "[ab1]", "[^\\d ]", "[x-y1-2]", "-",
      ])
    }

    mutating func piece(_ depth: Int) -> String {
      atom(depth)
        + pick(["", "", "", "*", "+", "?", "{2}", "{1,3}", "{2,}", "{0,2}", "*?", "+?", "??", "{,2}"])
    }

    mutating func concatenation(_ depth: Int) -> String {
      (0..<(1 + Int(random.next() % 3))).map { _ in piece(depth) }.joined()
    }

    mutating func alternation(_ depth: Int) -> String {
      chance(25) ? concatenation(depth) + "|" + concatenation(depth) : concatenation(depth)
    }

    mutating func pattern() -> String {
      (chance(10) ? "(?i)" : "") + (chance(15) ? "^" : "") + alternation(0) + (chance(15) ? "$" : "")
    }

    mutating func line() -> String {
      String((0..<Int(random.next() % 10)).map { _ in pick(Array("aabbxy1 2.-AB")) })
    }
  }

  @Test func agreesWithSwiftRegexOnASeededCorpus() throws {
    var maker = PatternMaker(random: SplitMix64(seed: 0x5EED_0009))
    var compared = 0
    for _ in 0..<400 {
      let pattern = maker.pattern()
      let swift = try Regex(pattern)
      let linear = try LinearRegex(pattern)
      for _ in 0..<12 {
        let line = maker.line()
        #expect(
          linear.matches(line) == line.contains(swift),
          "pattern \(pattern.debugDescription) on \(line.debugDescription)")
        compared += 1
      }
    }
    #expect(compared == 4800)
  }

  @Test(arguments: [
    ("(a*)*b", "a"), ("a*a*a*a*b", "a"), ("(x|x)*y", "x"), ("(a|aa)+$b", "a"), ("(.*)*x{0,50}z", "x"),
  ])
  func pathologicalPatternsTakeStepsProportionalToPatternTimesLine(pattern: String, filler: String) throws {
    let regex = try LinearRegex(pattern)
    for length in [1024, 4096] {
      let (matched, steps) = regex.run(String(repeating: filler, count: length))
      #expect(!matched)
      #expect(steps <= 2 * regex.programSize * (length + 1), "\(steps) steps for \(length) bytes")
      #expect(steps >= length)
    }
  }

  @Test func matchesWholeCharactersOutsideASCII() throws {
    #expect(try LinearRegex("^a.b$").matches("aéb"))
    #expect(try LinearRegex("^a[^x]b$").matches("a€b"))
    #expect(try LinearRegex("^\\W$").matches("😀"))
    #expect(try LinearRegex("^[éa]+$").matches("aéé"))
    #expect(try !LinearRegex("^a.b$").matches("aééb"))
    #expect(try LinearRegex("Grüße").matches("viele Grüße"))
  }

  @Test func wordBoundariesAndCaseInsensitivity() throws {
    #expect(try LinearRegex("\\berror\\b").matches("an error here"))
    #expect(try !LinearRegex("\\berror\\b").matches("errors"))
    #expect(try LinearRegex("\\Bror").matches("errors"))
    #expect(try LinearRegex("(?i)kernel PANIC").matches("Kernel panic - not syncing"))
    #expect(try LinearRegex("(?i:k)ernel").matches("Kernel"))
    #expect(try !LinearRegex("(?i:k)ernel").matches("KERNEL"))
    #expect(try !LinearRegex("kernel").matches("Kernel"))
    #expect(try LinearRegex("(?<port>usb \\d+)-(?P<dev>\\d)").matches("usb 12-3"))
  }

  @Test(arguments: [
    ("(a)\\1", "uses a backreference (\\1)", 4),
    ("a(?=b)", "uses a lookaround", 2),
    ("(?<!a)b", "uses a lookaround", 1),
    ("a*+b", "possessive quantifier", 3),
    ("(abc", "'(' is never closed", 1),
    ("abc)", "unmatched ')'", 4),
    ("[abc", "'[' that is never closed", 1),
    ("*a", "nothing to repeat", 1),
    ("a{2,500}", "repeats more than 100 times", 2),
    ("a{3,2}", "maximum is below its minimum", 2),
    ("a{x}", "write \\{ for a brace", 2),
    ("(a{100}){100}", "compiles to more than 5000 instructions", 1),
    ("\\p{L}", "escape \\p", 1),
    ("[z-a]", "end comes before its start", 4),
    ("a\\", "lone backslash", 2),
  ])
  func refusedSyntaxSaysWhatAndWhere(pattern: String, reason: String, column: Int) {
    #expect(throws: LinearRegexError.self) { try LinearRegex(pattern) }
    do {
      _ = try LinearRegex(pattern)
    } catch {
      #expect(error.reason.contains(reason), "\(error)")
      #expect(error.column == column, "\(error)")
    }
  }
}
