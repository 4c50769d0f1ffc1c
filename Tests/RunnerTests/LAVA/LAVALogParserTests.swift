import Foundation
import Protocols
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct LAVALogParserTests {
  @Test func jsonLineBecomesAnEntryWithItsTextMessage() {
    let raw = #"- {"dt": "2026-11-29T01:38:32.619219", "lvl": "info", "msg": "start: 1 tftp-deploy"}"#
    let line = LAVALogParser.line(raw)
    #expect(line.raw == raw)
    #expect(
      line.entry
        == LAVALogEntry(
          timestamp: "2026-11-29T01:38:32.619219", level: "info", message: .text("start: 1 tftp-deploy")))
  }

  @Test func listMessageBecomesLines() {
    let line = LAVALogParser.line(#"- {"dt": "t", "lvl": "debug", "msg": ["a", "b \"q\""]}"#)
    #expect(line.entry?.message == .lines(["a", "b \"q\""]))
  }

  @Test func resultsMappingBecomesResultWithTextValues() {
    let line = LAVALogParser.line(
      #"- {"dt": "t", "lvl": "results", "msg": {"case": "job", "definition": "lava", "result": "fail", "#
        + #""measurement": 1.5, "error_type": "Infrastructure", "extra": {"k": [1, "x"]}}}"#)
    #expect(
      line.entry?.message
        == .result([
          "case": "job", "definition": "lava", "result": "fail", "measurement": "1.5",
          "error_type": "Infrastructure", "extra": #"{"k": [1, "x"]}"#,
        ]))
  }

  @Test func mappingOutsideResultsIsShownCompactly() {
    let line = LAVALogParser.line(#"- {"dt": "t", "lvl": "info", "msg": {"b": null, "a": true}}"#)
    #expect(line.entry?.message == .other(#"{"a": true, "b": null}"#))
  }

  @Test func yamlTaggedLineIsReadByTheFallback() {
    let raw =
      #"- {"dt": "2026-11-29T01:38:40.1", "lvl": "results", "msg": {"case": "ls", "definition": "0_smoke", "#
      + #""endtc": ! "558", "result": "pass", "starttc": ! "550"}}"#
    let line = LAVALogParser.line(raw)
    #expect(LAVALogParser.entry(ofJSONLine: raw) == nil)
    #expect(line.entry?.level == "results")
    #expect(
      line.entry?.message
        == .result([
          "case": "ls", "definition": "0_smoke", "endtc": "558", "result": "pass", "starttc": "550",
        ]))
  }

  @Test func yamlFallbackReadsPlainAndSingleQuotedScalars() {
    let line = LAVALogParser.line("- {dt: 2026-11-29T01:00:00, lvl: target, msg: 'it''s up'}")
    #expect(
      line.entry == LAVALogEntry(timestamp: "2026-11-29T01:00:00", level: "target", message: .text("it's up"))
    )
  }

  @Test func lineReadableNeitherWayIsKeptRaw() {
    for raw in [
      "garbage {", "- {\"dt\": \"t\", \"lvl\": \"info\"}", "- [1, 2]", "- {\"lvl\": \"info\", \"msg\": *a}",
    ] {
      let line = LAVALogParser.line(raw)
      #expect(line.raw == raw)
      #expect(line.entry == nil, "\(raw)")
    }
  }

  @Test func everyLineOfABodyIsReturnedOnceInOrder() {
    let lines = [
      #"- {"dt": "1", "lvl": "info", "msg": "one"}"#,
      "not yaml: [",
      "",
      #"- {"dt": "3", "lvl": "results", "msg": {"case": "x", "endtc": ! "9"}}"#,
      #"- {"dt": "4", "lvl": "target", "msg": "four"}"#,
    ]
    let parsed = LAVALogParser.lines(in: Data((lines.joined(separator: "\n") + "\n").utf8))
    #expect(parsed.map(\.raw) == lines)
    #expect(parsed.map { $0.entry != nil } == [true, false, false, true, true])
  }

  @Test func unfinishedLastLineIsNotCounted() {
    let whole = #"- {"dt": "1", "lvl": "info", "msg": "one"}"#
    let body = whole + "\n" + #"- {"dt": "2", "lvl": "info", "msg": "tw"#
    let parsed = LAVALogParser.lines(in: Data(body.utf8))
    #expect(parsed.map(\.raw) == [whole])
  }

  @Test func completeLastLineWithoutNewlineIsKept() {
    let body =
      #"- {"dt": "1", "lvl": "info", "msg": "one"}"# + "\n" + #"- {"dt": "2", "lvl": "info", "msg": "two"}"#
    let parsed = LAVALogParser.lines(in: Data(body.utf8))
    #expect(parsed.map { $0.entry?.message } == [.text("one"), .text("two")])
  }

  @Test func emptyBodyHasNoLines() {
    #expect(LAVALogParser.lines(in: Data()).isEmpty)
  }

  // MARK: - Issue 11, hostile log lines

  @Test func aLogLineNestedTooDeeplyIsShownRawNotDropped() {
    let deep = { (depth: Int) in String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
    let lines = [
      #"- {"dt": "1", "lvl": "info", "msg": "before"}"#,
      "- " + deep(50_000),
      #"- {"dt": "2", "lvl": "info", "msg": "# + deep(300) + "}",
      #"- {"dt": "3", "lvl": "info", "msg": ! "tagged", "extra": "# + deep(300) + "}",
      #"- {"dt": "4", "lvl": "info", "msg": "after"}"#,
    ]
    let parsed = LAVALogParser.lines(in: Data((lines.joined(separator: "\n") + "\n").utf8))
    #expect(parsed.map(\.raw) == lines)
    #expect(parsed.map { $0.entry?.message } == [.text("before"), nil, nil, nil, .text("after")])
  }

  @Test func aLogLineNestedWithinTheLimitIsRead() {
    let nested = String(repeating: "[", count: 200) + #""x""# + String(repeating: "]", count: 200)
    let line = LAVALogParser.line(#"- {"dt": "1", "lvl": "info", "msg": "# + nested + "}")
    #expect(line.entry?.message == .other(nested))
  }

  @Test func bracketsInsideStringsDoNotCountAsNesting() {
    let text = String(repeating: "[{", count: 400) + #"\"]"#
    let line = LAVALogParser.line(#"- {"dt": "1", "lvl": "info", "msg": ""# + text + #""}"#)
    #expect(line.entry?.message == .text(String(repeating: "[{", count: 400) + "\"]"))
  }

  @Test func aLogLineWithAHugeBase60NumberIsReadNotACrash() {
    let line = LAVALogParser.line(
      #"- {"dt": "1", "lvl": "results", "msg": {"case": "x", "n": 153722867280912931:0, "endtc": ! "1"}}"#)
    #expect(line.entry?.message == .result(["case": "x", "n": "153722867280912931:0", "endtc": "1"]))
  }
}
