import Foundation
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Issue 11, "Hostile world": texts written to crash, stall or exhaust the YAML reader.
@Suite struct YAMLHostileInputTests {
  // MARK: - Finding 1: integer overflow

  @Test func sexagesimalOverflowIsAnErrorNotACrash() throws {
    #expect(YAMLValue.integer("153722867280912931:0") == .tooLarge)
    let root = try #require(try YAMLParser.parse("priority: 153722867280912931:0\n"))
    #expect(root["priority"]?.resolved == .largeInt("153722867280912931:0"))
    #expect(root["priority"]?.int == nil)
    #expect(root["priority"]?.kindDescription == "an integer too large for 64 bits")
  }

  @Test(arguments: [
    ("9223372036854775807", YAMLValue.Integer.value(.max)),
    ("-9223372036854775808", .value(.min)),
    ("9223372036854775808", .tooLarge),
    ("-9223372036854775809", .tooLarge),
    ("0x7fffffffffffffff", .value(.max)),
    ("0x8000000000000000", .tooLarge),
    ("-0x8000000000000000", .value(.min)),
    ("0b" + String(repeating: "1", count: 64), .tooLarge),
    ("0777777777777777777777", .value(.max)),
    ("01000000000000000000000", .tooLarge),
    ("153722867280912930:7", .value(9_223_372_036_854_775_807)),
    ("-153722867280912930:8", .value(.min)),
    ("153722867280912930:8", .tooLarge),
    ("1_000", .value(1000)),
    ("1:30", .value(90)),
    ("-1:30", .value(-90)),
  ])
  func integersOfEveryBaseAreReadWithoutOverflow(text: String, expected: YAMLValue.Integer) {
    #expect(YAMLValue.integer(text) == expected)
  }

  @Test func textsThatAreNotIntegersStayStrings() {
    for text in ["1:60", "1:", "0x", "0x-5", "0b2", "08", "1e3", "12abc"] {
      #expect(YAMLValue.integer(text) == nil, "\(text)")
    }
  }

  // MARK: - Finding 2: deep nesting

  @Test func deepNestingIsAnErrorWithLineAndColumnNotACrash() throws {
    let text = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
    let error = try parseError(text)
    #expect(error.reason == .tooDeep(256, alias: nil))
    #expect(error.mark == YAMLMark(line: 1, column: 257))
    #expect(error.description.hasPrefix("job.yaml:1:257: lists and mappings are nested more than 256 levels"))

    let mappings = String(repeating: "{a: ", count: 300) + String(repeating: "}", count: 300)
    #expect(try parseError(mappings).reason == .tooDeep(256, alias: nil))

    let block = (0..<300).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " 1\n"
    let blockError = try parseError(block)
    #expect(blockError.reason == .tooDeep(256, alias: nil))
    #expect(blockError.mark.line == 257)
  }

  @Test func nestingUpToTheLimitIsRead() throws {
    let text = String(repeating: "[", count: 256) + "1" + String(repeating: "]", count: 256)
    var node = try #require(try YAMLParser.parse(text))
    var depth = 0
    while let items = node.items {
      depth += 1
      node = try #require(items.first)
    }
    #expect(depth == 256)
    #expect(node.int == 1)
  }

  @Test func aliasesCannotNestPastTheDepthLimit() throws {
    // Each anchor wraps the one before in 100 more levels: a few aliases would go 1000 deep.
    let wrap = { (inner: String) in
      String(repeating: "[", count: 100) + inner + String(repeating: "]", count: 100)
    }
    var text = "a0: &a0 \(wrap("1"))\n"
    for level in 1...9 { text += "a\(level): &a\(level) \(wrap("*a\(level - 1)"))\n" }
    let error = try parseError(text)
    #expect(error.reason == .tooDeep(256, alias: "a1"))
    #expect(error.mark == YAMLMark(line: 3, column: 109))
    #expect(error.message.hasPrefix("alias *a1 here nests what &a1 holds more than 256 levels deep"))
  }

  // MARK: - Item 2: limits

  @Test func documentsPastTheNodeLimitAreRefused() throws {
    var limits = YAMLLimits()
    limits.maximumNodes = 100
    let items = "[" + Array(repeating: "x", count: 99).joined(separator: ", ") + "]"
    #expect(throws: Never.self) { try YAMLParser.parse(items, limits: limits) }
    let error = #expect(throws: YAMLError.self) {
      try YAMLParser.parse(
        "[" + Array(repeating: "x", count: 100).joined(separator: ", ") + "]", limits: limits)
    }
    #expect(error?.reason == .tooManyNodes(100))
    #expect(error?.mark == YAMLMark(line: 1, column: 299))
  }

  @Test func aliasesCountAsCopiesAgainstTheNodeLimit() throws {
    var limits = YAMLLimits()
    limits.maximumNodes = 100
    let anchored = "a: &a [" + Array(repeating: "x", count: 20).joined(separator: ", ") + "]\n"
    #expect(throws: Never.self) { try YAMLParser.parse(anchored + "b: [*a, *a, *a]\n", limits: limits) }
    let error = #expect(throws: YAMLError.self) {
      try YAMLParser.parse(anchored + "b: [*a, *a, *a, *a]\n", limits: limits)
    }
    #expect(error?.reason == .tooManyNodes(100))
    #expect(error?.mark == YAMLMark(line: 2, column: 17))
  }

  @Test func theNodeLimitCountsEveryDocumentOfTheText() throws {
    var limits = YAMLLimits()
    limits.maximumNodes = 100
    let documents = Array(repeating: "--- x", count: 101).joined(separator: "\n")
    let error = #expect(throws: YAMLError.self) { try YAMLParser.parseDocuments(documents, limits: limits) }
    #expect(error?.reason == .tooManyNodes(100))
    #expect(error?.mark.line == 101)
  }

  @Test func textsLargerThanTheLimitAreRefusedBeforeParsing() throws {
    let limit = YAMLLimits.standard.maximumBytes
    #expect(limit == 16 * 1024 * 1024)
    let text = "a: " + String(repeating: "x", count: limit - 2)
    let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(text) }
    #expect(error?.reason == .tooLarge(bytes: limit + 1, limit: limit))
    #expect(error?.message.contains("more than the 16 MiB") == true)
  }

  @Test func anAliasSharesTheAnchoredNodeAndSaysSo() throws {
    let root = try #require(try YAMLParser.parse("a: &t {k: 1}\nb: *t\n"))
    #expect(root["a"]?.alias == nil)
    #expect(root["b"]?.alias == "t")
    #expect(root["b"]?["k"]?.int == 1)
  }

  @Test func manyItemsAndKeysKeepTheirOrder() throws {
    let count = 20_000
    let list = "[" + (0..<count).map(String.init).joined(separator: ", ") + "]"
    let items = try #require(try YAMLParser.parse(list)?.items)
    #expect(items.compactMap(\.int) == Array(0..<count))
    let mapping = (0..<count).map { "k\($0): \($0)" }.joined(separator: "\n")
    let pairs = try #require(try YAMLParser.parse(mapping)?.pairs)
    #expect(pairs.map { $0.value.int } == (0..<count).map { $0 })
  }

  private func parseError(_ text: String) throws -> YAMLError {
    do {
      _ = try YAMLParser.parseDocuments(text, file: "job.yaml")
    } catch {
      return error
    }
    Issue.record("expected a YAML error")
    throw CancellationError()
  }
}
