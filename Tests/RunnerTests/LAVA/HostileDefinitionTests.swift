import Foundation
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Issue 11, "Hostile world": job definitions written to crash, stall or mislead the checks.
@Suite struct HostileDefinitionTests {
  private static let valid = JobDefinitionValidatorTests.valid

  private func findings(_ text: String) -> JobDefinitionFindings {
    JobDefinitionValidator().findings(in: text, file: "job.yaml")
  }

  // MARK: - Finding 1

  @Test func sexagesimalOverflowInAPriorityIsReportedNotACrash() {
    let found = findings(Self.valid + "\npriority: 153722867280912931:0\n")
    #expect(found.total == 1)
    #expect(found.diagnostics.first?.mark == YAMLMark(line: 12, column: 11))
    #expect(
      found.diagnostics.first?.message
        == "'priority' must be high, medium, low or a whole number from 0 to 100, found "
        + "153722867280912931:0, an integer too large for 64 bits")
  }

  // MARK: - Finding 9

  @Test func timeoutOverflowIsReportedAsTooLongNotAsMinusOneDays() {
    for (written, shown) in [
      ("9223372036854775807", "9223372036854775807 days"),
      ("99999999999999999999", "99999999999999999999 days"),
      ("1000000000", "1000000000 days"),
    ] {
      let found = findings(Self.valid.replacing("minutes: 30", with: "days: \(written)"))
      #expect(found.diagnostics.map(\.mark) == [YAMLMark(line: 6, column: 11)], "\(written)")
      #expect(
        found.diagnostics.first?.message
          == "'timeouts.job.days' is \(shown), longer than LAVA can hold (at most 999999999 days): "
          + "use a realistic timeout such as 'hours: 2'")
      #expect(!found.diagnostics.contains { $0.message.contains("-1") })
    }
    #expect(findings(Self.valid.replacing("minutes: 30", with: "days: 999999999")).total == 0)
  }

  @Test func anActionTimeoutThatOverflowsIsReportedNotComparedWrapped() {
    let text = Self.valid.replacing(
      "method: qemu", with: "method: qemu\n      timeout: {hours: 4611686018427387904}")
    let found = findings(text)
    #expect(
      found.diagnostics.map(\.message) == [
        "'actions[2].boot.timeout.hours' is 4611686018427387904 hours, longer than LAVA can hold "
          + "(at most 999999999 days): use a realistic timeout such as 'hours: 2'"
      ])
  }

  // MARK: - Finding 2

  @Test func deeplyNestedDefinitionIsReportedNotACrash() {
    let text = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
    let found = findings(text)
    #expect(found.total == 1)
    #expect(found.diagnostics.first?.mark == YAMLMark(line: 1, column: 257))
    #expect(found.diagnostics.first?.message.contains("nested more than 256 levels") == true)
  }

  // MARK: - Finding 3

  @Test func tenThousandUnknownKeysShowTheFirstFiftyAndCountTheRest() {
    let keys = (1...10_000).map { "unknown\($0): x" }.joined(separator: "\n")
    let found = findings(Self.valid + "\n" + keys + "\n")
    #expect(found.total == 10_000)
    #expect(found.omitted == 9_950)
    #expect(found.diagnostics.count == 50)
    #expect(found.diagnostics.map(\.mark.line) == Array(12..<62))
    #expect(found.diagnostics.allSatisfy { $0.sourceLine == "unknown\($0.mark.line - 11): x" })
    #expect(found.lines.count == 51)
    #expect(found.lines.last == "… and 9950 more problems not shown: fix the ones above and check again")
  }

  @Test func theFirstProblemsInSourceOrderAreShownWhateverOrderTheyAreFoundIn() {
    // Unknown keys are found before the missing job_name, which is reported at line 1.
    let keys = (1...200).map { "unknown\($0): x" }.joined(separator: "\n")
    let found = findings(Self.valid.replacing("job_name: smoke\n", with: "") + "\n" + keys + "\n")
    #expect(found.total == 201)
    #expect(found.diagnostics.first?.message.hasPrefix("missing required key 'job_name'") == true)
    #expect(
      found.diagnostics.dropFirst().first?.message.hasPrefix("unknown top-level key 'unknown1'") == true)
  }

  @Test func duplicateKeysInsideAnAnchorAreReportedOnceNotPerAlias() {
    let text = "x-base: &b {a: 1, a: 2}\nx-copies: [*b, *b, *b, *b]\n"
    let duplicates = findings(text).diagnostics.filter { $0.message.hasPrefix("duplicate key 'a'") }
    #expect(duplicates.map(\.mark) == [YAMLMark(line: 1, column: 19)])
  }

  @Test func manyDuplicateKeysAreAllCounted() {
    let keys = (1...5_000).map { _ in "job_name: x" }.joined(separator: "\n")
    let found = findings(Self.valid + "\n" + keys + "\n")
    #expect(found.total == 5_000)
    #expect(found.diagnostics.first?.message.hasPrefix("duplicate key 'job_name' (first at line 1)") == true)
  }

  @Test func theReportSaysHowManyProblemsAreNotShown() throws {
    let keys = (1...120).map { "unknown\($0): x" }.joined(separator: "\n")
    let report = JobDefinitionReport.check(paths: ["job.yaml"]) { _ throws(JobFileError) in
      Self.valid + "\n" + keys
    }
    let output = report.rendered(colours: false)
    let problemLines = output.split(separator: "\n").filter {
      $0.hasPrefix("job.yaml:") && $0.dropFirst(9).first?.isNumber == true
    }
    #expect(problemLines.count == 50)
    #expect(
      output.hasSuffix(
        "job.yaml: … and 70 more problems not shown: fix the ones above and check again\n"
          + "job.yaml: invalid (120 problems)"))
  }

  @Test func unclosedPlaceholdersDoNotHideTheOnesThatFollow() {
    let placeholders = TemplatePlaceholders("a: {{ {{ {{ x\nb: [{{ y }}, {{z}}]\n")
    #expect(
      placeholders.spans == [
        TemplatePlaceholders.Span(line: 2, column: 5, length: 7),
        TemplatePlaceholders.Span(line: 2, column: 14, length: 5),
      ])
    #expect(placeholders.maskedText == "a: {{ {{ {{ x\nb: [xxxxxxx, xxxxx]\n")
  }

  @Test func manyPlaceholderTimeoutsAreAllAccepted() {
    let actions = (1...2_000).map { _ in "  - boot: {method: qemu, timeout: {minutes: {{ job.T }}}}" }
    let text = Self.valid.replacing("  - boot:\n      method: qemu", with: actions.joined(separator: "\n"))
    #expect(findings(text).total == 0)
  }

  // MARK: - Item 2: size

  @Test func aFileLargerThanTheLimitIsRefusedBeforeItIsRead() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("large-\(UUID()).yaml")
    try Data(repeating: UInt8(ascii: "a"), count: 11).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    #expect(throws: JobFileError.tooLarge(path: file.path, limit: 10)) {
      try JobFileError.read(file.path, limit: 10)
    }
    #expect(try JobFileError.read(file.path, limit: 11) == "aaaaaaaaaaa")
    #expect(
      JobFileError.tooLarge(path: "big.yaml", limit: 16 * 1_048_576).description
        == "big.yaml: is larger than 16 MiB, the most a job definition may be; "
        + "LAVA job definitions are a few KiB: check that this is the right file")
  }

  @Test func anEmptyFileIsReadAsEmptyText() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID()).yaml")
    try Data().write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    #expect(try JobFileError.read(file.path) == "")
  }

  // MARK: - Finding 13

  @Test func controlBytesFromADefinitionAreShownEscapedNotSentToTheTerminal() {
    let osc = "\u{1B}]0;pwned\u{07}"
    let found = findings(Self.valid.replacing("job_name: smoke", with: "job_name: smoke\(osc)"))
    let output = found.diagnostics.map { $0.rendered(colours: true) }.joined(separator: "\n")
    #expect(!found.diagnostics.isEmpty)
    #expect(!output.contains("\u{07}"))
    #expect(!output.contains("\u{1B}]"))
    #expect(output.contains("job_name: smoke\\x1B]0;pwned\\x07"))

    // A double-quoted key may hold any character as an escape; the message quotes the key.
    let key = findings(Self.valid + "\n\"\\e[2J\\u202Ekey\": x\n").diagnostics.map(\.description)
    #expect(
      key == [
        "job.yaml:12:1: unknown top-level key '\\x1B[2J\\u202Ekey': LAVA accepts "
          + JobDefinitionValidator.topLevelKeys.sorted().joined(separator: ", ")
          + "\n    \"\\e[2J\\u202Ekey\": x\n    ^"
      ])
  }
}
