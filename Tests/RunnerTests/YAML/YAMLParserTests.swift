import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct YAMLParserTests {
  @Test func nodesAndKeysKeepTheirOneBasedLineAndColumn() throws {
    let text = """
      job_name: smoke
      actions:
        - deploy:
            to: tmpfs
      """
    let root = try #require(try YAMLParser.parse(text))
    #expect(root.mark == YAMLMark(line: 1, column: 1))
    let pairs = try #require(root.pairs)
    #expect(pairs.map { $0.key.scalar?.value } == ["job_name", "actions"])
    #expect(pairs[0].value.mark == YAMLMark(line: 1, column: 11))
    #expect(pairs[1].key.mark == YAMLMark(line: 2, column: 1))
    let item = try #require(root["actions"]?.items?.first)
    #expect(item.mark == YAMLMark(line: 3, column: 5))
    let to = try #require(item["deploy"]?.pair(forKey: "to"))
    #expect(to.key.mark == YAMLMark(line: 4, column: 7))
    #expect(to.value.mark == YAMLMark(line: 4, column: 11))
    #expect(to.value.string == "tmpfs")
  }

  @Test func scalarsRememberTheirStyleAndTag() throws {
    let root = try #require(
      try YAMLParser.parse("a: plain\nb: 'single'\nc: \"double\"\nd: !!int \"7\"\ne: |\n  text\n"))
    #expect(root["a"]?.scalar?.style == .plain)
    #expect(root["b"]?.scalar?.style == .singleQuoted)
    #expect(root["c"]?.scalar?.style == .doubleQuoted)
    #expect(root["d"]?.tag == "tag:yaml.org,2002:int")
    #expect(root["d"]?.int == 7)
    #expect(root["e"]?.scalar == YAMLScalar(value: "text\n", style: .literal))
  }

  @Test func plainScalarsResolveAsYAML11AsLAVAReadsThem() throws {
    let root = try #require(
      try YAMLParser.parse(
        "a: yes\nb: off\nc: 0x1F\nd: 010\ne: 1_000\nf: ~\ng: '42'\nh: 1:30\ni: 1.5\nj: text\nk: -3\n"))
    #expect(root["a"]?.bool == true)
    #expect(root["b"]?.bool == false)
    #expect(root["c"]?.int == 31)
    #expect(root["d"]?.int == 8)
    #expect(root["e"]?.int == 1000)
    #expect(root["f"]?.isNull == true)
    #expect(root["g"]?.int == nil)
    #expect(root["g"]?.string == "42")
    #expect(root["h"]?.int == 90)
    #expect(root["i"]?.resolved == .float(1.5))
    #expect(root["j"]?.string == "text")
    #expect(root["k"]?.int == -3)
  }

  @Test func aLAVALogLineWithANonSpecificTagParses() throws {
    let line =
      #"- {"dt": "2024-05-01T10:00:00.123456", "lvl": "results", "msg": {"case": "x", "endtc": ! "558"}}"#
    let root = try #require(try YAMLParser.parse(line))
    let entry = try #require(root.items?.first)
    #expect(entry["lvl"]?.string == "results")
    let endtc = try #require(entry["msg"]?["endtc"])
    #expect(endtc.tag == "!")
    #expect(endtc.string == "558")
    #expect(entry["msg"]?["case"]?.string == "x")
  }

  @Test func aliasesAreReplacedByTheAnchoredNode() throws {
    let root = try #require(try YAMLParser.parse("base: &t {minutes: 5}\ncopy: *t\n"))
    #expect(root["copy"]?["minutes"]?.int == 5)
    #expect(root["copy"]?.mark == YAMLMark(line: 2, column: 7))
  }

  @Test func mergeKeysBringInPairsWithPyYAMLPrecedence() throws {
    let text = """
      one: &one {a: 1, b: 1}
      two: &two {b: 2, c: 2}
      both:
        <<: [*one, *two]
        c: 3
      """
    let both = try #require(try YAMLParser.parse(text)?["both"])
    #expect(both["a"]?.int == 1)
    #expect(both["b"]?.int == 1)
    #expect(both["c"]?.int == 3)
    #expect(both.pair(forKey: "<<") == nil)
    #expect(both.pair(forKey: "a")?.isMerged == true)
    #expect(both.pair(forKey: "a")?.key.mark == YAMLMark(line: 1, column: 12))
  }

  @Test func aMergeKeyOfAScalarIsReportedAtTheScalar() {
    #expect {
      try YAMLParser.parse("a:\n  <<: text\n")
    } throws: { error in
      guard let error = error as? YAMLError, case .invalidMerge = error.reason else { return false }
      return error.mark == YAMLMark(line: 2, column: 7)
    }
  }

  @Test func anAliasWithoutAnchorIsReportedWhereItIsUsed() {
    #expect {
      try YAMLParser.parse("a: 1\nb: *missing\n", file: "job.yaml")
    } throws: { error in
      guard let error = error as? YAMLError else { return false }
      return error.reason == .undefinedAlias("missing") && error.mark == YAMLMark(line: 2, column: 4)
    }
  }

  @Test func aliasesThatExpandExponentiallyAreRefused() {
    var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
      let aliases = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
      text += "a\(level): &a\(level) [\(aliases)]\n"
    }
    #expect {
      try YAMLParser.parse(text)
    } throws: { error in
      guard let error = error as? YAMLError, case .tooManyNodes = error.reason else { return false }
      return error.mark.line <= 10
    }
    #expect(throws: Never.self) { try YAMLParser.parse("a: &a [1, 2]\nb: [*a, *a, *a]\n") }
  }

  @Test func aControlCharacterIsReportedWhereItIs() throws {
    let error = try parseError("a: 1\nb: x\u{01}y\n")
    #expect(error.mark == YAMLMark(line: 2, column: 5))
    #expect(error.message.hasPrefix("control characters are not allowed"))
  }

  @Test func everyDocumentIsReturnedAndAnEmptyTextHasNone() throws {
    #expect(try YAMLParser.parseDocuments("").isEmpty)
    let documents = try YAMLParser.parseDocuments("a: 1\n---\nb: 2\n")
    #expect(documents.count == 2)
    #expect(documents[1].mark == YAMLMark(line: 3, column: 1))
    #expect(try YAMLParser.parse("a: 1\n---\n: : bad [")?["a"]?.int == 1)
  }

  @Test func aTabUsedForIndentationIsReportedAtTheTab() throws {
    let error = try parseError("job_name: a\nactions:\n\t- deploy: {}\n")
    #expect(error.mark == YAMLMark(line: 3, column: 1))
    #expect(error.message.contains("tabs"))
    #expect(error.description.hasPrefix("job.yaml:3:1: "))
    #expect(error.description.hasSuffix("\n    \t- deploy: {}\n    ^"))
  }

  @Test func anUnclosedQuoteIsReportedWhereTheQuoteOpens() throws {
    let error = try parseError("job_name: a\ndevice_type: \"qemu\nvisibility: public\n")
    #expect(error.mark == YAMLMark(line: 2, column: 14))
    #expect(error.message.contains("quoted scalar"))
    #expect(error.description.hasSuffix("\n    device_type: \"qemu\n                 ^"))
  }

  @Test func aKeyIndentedDeeperThanItsSiblingsIsReportedOnItsLine() throws {
    let error = try parseError("timeouts:\n  job:\n    minutes: 3\n   action: 2\n")
    #expect(error.mark == YAMLMark(line: 4, column: 4))
    #expect(error.message.contains("block mapping that starts at line 2, column 3"))
  }

  @Test func aValueWithAColonAfterAnIndentedKeyIsReported() throws {
    let error = try parseError("job_name: a\ndevice_type: b\n  visibility: public\n")
    #expect(error.mark == YAMLMark(line: 3, column: 13))
    #expect(error.message.contains("mapping values are not allowed"))
  }

  private func parseError(_ text: String) throws -> YAMLError {
    do {
      _ = try YAMLParser.parseDocuments(text, file: "job.yaml")
    } catch {
      return error
    }
    Issue.record("expected a YAML error for \(text.debugDescription)")
    throw CancellationError()
  }
}
