import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct JobDefinitionValidatorTests {
  static let valid = """
    job_name: smoke
    device_type: qemu
    visibility: public
    timeouts:
      job:
        minutes: 30
    actions:
      - deploy:
          to: tmpfs
      - boot:
          method: qemu
    """

  private func problems(_ text: String) -> [SourceDiagnostic] {
    JobDefinitionValidator().validate(text, file: "job.yaml")
  }

  /// The valid definition with `line` (1-based) replaced; several lines may be given.
  private func problems(replacing replacements: [Int: String]) -> [SourceDiagnostic] {
    var lines = Self.valid.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for (line, text) in replacements { lines[line - 1] = text }
    return problems(lines.joined(separator: "\n"))
  }

  @Test func aCompleteDefinitionHasNoProblems() {
    #expect(problems(Self.valid).isEmpty)
  }

  @Test func theExampleJobDefinitionIsValid() throws {
    let text = try JobFileError.read(Examples.path("lava-job.yaml"))
    #expect(problems(text).isEmpty)
  }

  @Test func aMissingDeviceTypeIsReportedAtTheTopLevelMapping() {
    let found = problems(replacing: [2: "# no device type"])
    #expect(found.count == 1)
    #expect(found.first?.mark == YAMLMark(line: 1, column: 1))
    #expect(found.first?.message.hasPrefix("missing required key 'device_type'") == true)
  }

  @Test func anEmptyActionsListIsReportedAtTheList() {
    let found = problems(
      "job_name: a\ndevice_type: b\nvisibility: public\ntimeouts: {job: {hours: 1}}\nactions: []\n")
    #expect(found.map(\.mark) == [YAMLMark(line: 5, column: 10)])
    #expect(found.first?.message.hasPrefix("'actions' is empty") == true)
  }

  @Test func anActionWithTwoKeysIsReportedAtTheItem() {
    let found = problems(replacing: [10: "    boot:"])
    #expect(found.map(\.mark) == [YAMLMark(line: 8, column: 5)])
    #expect(
      found.first?.message
        == "action 1 must be a mapping with exactly one key (deploy, boot, test, command), found 2 keys")
  }

  @Test func anActionThatIsAStringOrOfUnknownTypeIsReported() {
    let found = problems(replacing: [10: "  - reboot", 11: "  - flash: {to: sd}"])
    #expect(found.map(\.mark) == [YAMLMark(line: 10, column: 5), YAMLMark(line: 11, column: 5)])
    #expect(found.first?.message.hasSuffix("found a string") == true)
    #expect(found.last?.message.hasPrefix("action 3 has unknown type 'flash'") == true)
  }

  @Test func timeoutsWithoutAJobTimeoutAreReportedAtTheTimeoutsMapping() {
    let found = problems(replacing: [5: "  action:"])
    #expect(found.map(\.mark) == [YAMLMark(line: 5, column: 3)])
    #expect(found.first?.message.hasPrefix("missing required key 'job' in 'timeouts'") == true)
  }

  @Test func missingTimeoutsAreReportedAtTheTopLevelMapping() {
    let found = problems(replacing: [4: "", 5: "", 6: ""])
    #expect(found.map(\.mark) == [YAMLMark(line: 1, column: 1)])
    #expect(found.first?.message.hasPrefix("missing required key 'timeouts'") == true)
  }

  @Test func aTimeoutNeedsOnePositiveWholeUnit() {
    let zero = problems(replacing: [6: "    minutes: 0"])
    #expect(zero.map(\.mark) == [YAMLMark(line: 6, column: 14)])
    let twoUnits = problems(replacing: [6: "    minutes: 3\n    hours: 1"])
    #expect(twoUnits.map(\.mark) == [YAMLMark(line: 6, column: 5)])
    #expect(twoUnits.first?.message.contains("found minutes, hours") == true)
  }

  @Test func actionTimeoutsLongerThanTheJobTimeoutAreReported() {
    let global = problems(replacing: [6: "    minutes: 30\n  action: {hours: 1}"])
    #expect(global.map(\.mark) == [YAMLMark(line: 7, column: 11)])
    #expect(
      global.first?.message
        == "timeout 'timeouts.action' (1 hour) is longer than the job timeout (30 minutes): "
        + "shorten it or raise timeouts.job")
    let local = problems(replacing: [9: "      to: tmpfs\n      timeout: {seconds: 1801}"])
    #expect(local.map(\.mark) == [YAMLMark(line: 10, column: 16)])
    #expect(local.first?.message.hasPrefix("timeout 'actions[1].deploy.timeout' (1801 seconds)") == true)
    #expect(problems(replacing: [9: "      to: tmpfs\n      timeout: {minutes: 30}"]).isEmpty)
  }

  @Test func anUnknownVisibilityIsReportedAtItsValue() {
    let found = problems(replacing: [3: "visibility: friends"])
    #expect(found.map(\.mark) == [YAMLMark(line: 3, column: 13)])
    #expect(found.first?.message.hasPrefix("visibility 'friends' is not known") == true)
  }

  @Test func visibilityAcceptsPersonalAndAGroupListOnly() {
    #expect(problems(replacing: [3: "visibility: personal"]).isEmpty)
    #expect(problems(replacing: [3: "visibility: {group: [team-a, team-b]}"]).isEmpty)
    let notAList = problems(replacing: [3: "visibility: {group: team-a}"])
    #expect(notAList.map(\.mark) == [YAMLMark(line: 3, column: 21)])
    let otherKey = problems(replacing: [3: "visibility: {personal: [me]}"])
    #expect(otherKey.map(\.mark) == [YAMLMark(line: 3, column: 13)])
  }

  @Test func aTopLevelListIsNotAJobDefinition() {
    let found = problems("- job_name: a\n")
    #expect(found.map(\.mark) == [YAMLMark(line: 1, column: 1)])
    #expect(found.first?.message.hasPrefix("the job definition is a list, expected a mapping") == true)
  }

  @Test func anEmptyFileIsReported() {
    for text in ["", "# only a comment\n", "---\n"] {
      let found = problems(text)
      #expect(found.count == 1)
      #expect(found.first?.message.hasPrefix("the file is empty") == true)
    }
  }

  @Test func aSecondDocumentIsReportedWhereItStarts() {
    let found = problems(Self.valid + "\n---\njob_name: other\n")
    #expect(found.map(\.mark) == [YAMLMark(line: 13, column: 1)])
    #expect(found.first?.message.hasPrefix("a second YAML document starts here") == true)
  }

  @Test func severalProblemsAreAllReportedInSourceOrder() {
    let found = problems("job_name: \"\"\nvisibility: 3\nactions: deploy\n")
    #expect(
      found.map(\.mark) == [
        YAMLMark(line: 1, column: 1), YAMLMark(line: 1, column: 1), YAMLMark(line: 1, column: 11),
        YAMLMark(line: 2, column: 13), YAMLMark(line: 3, column: 10),
      ])
    #expect(found.filter { $0.message.hasPrefix("missing required key") }.count == 2)
  }

  @Test func placeholdersAreAcceptedWhereStringsAndNumbersAreExpected() {
    let found = problems(replacing: [
      1: "job_name: \"smoke {{ job.CI_PIPELINE_ID }}\"",
      2: "device_type: {{ job.DEVICE_TYPE }}",
      3: "visibility: '{{ job.VISIBILITY }}'",
      6: "    minutes: {{ job.TIMEOUT_MINUTES }}",
      9: "        to: {{job.DEPLOY_TO}}",
    ])
    #expect(found.isEmpty)
  }

  @Test func problemsAfterAPlaceholderKeepTheirColumns() {
    let found = problems(replacing: [
      2: "device_type: {{ job.DEVICE_TYPE }}", 3: "visibility: {{ job.V }} x: y",
    ])
    #expect(found.map(\.mark) == [YAMLMark(line: 3, column: 26)])
    #expect(found.first?.sourceLine == "visibility: {{ job.V }} x: y")
  }

  @Test func duplicateAndUnknownTopLevelKeysAreReported() {
    let found = problems(replacing: [3: "visibility: public\njob_name: again\ndevice-type: qemu"])
    #expect(found.map(\.mark) == [YAMLMark(line: 4, column: 1), YAMLMark(line: 5, column: 1)])
    #expect(found.first?.message.hasPrefix("duplicate key 'job_name' (first at line 1)") == true)
    #expect(found.last?.message.hasPrefix("unknown top-level key 'device-type'") == true)
  }

  @Test func mergedDefaultsCountAsWrittenAndMayBeOverridden() {
    let text = """
      .defaults: &defaults
        device_type: qemu
        visibility: public
      """
    let found = problems(text + "\n" + Self.valid.replacing("device_type: qemu", with: "<<: *defaults"))
    #expect(
      found.map(\.message) == [
        "unknown top-level key '.defaults': LAVA accepts "
          + JobDefinitionValidator.topLevelKeys.sorted().joined(separator: ", ")
      ])
    let overriding = problems("base: &b {job_name: x}\n<<: *b\njob_name: y\n")
    #expect(!overriding.contains { $0.message.hasPrefix("duplicate key") })
  }

  @Test func aYAMLErrorIsReportedWithTheOriginalSourceLine() {
    let found = problems(replacing: [2: "device_type: \"{{ job.DEVICE_TYPE }}"])
    #expect(found.map(\.mark) == [YAMLMark(line: 2, column: 14)])
    #expect(found.first?.sourceLine == "device_type: \"{{ job.DEVICE_TYPE }}")
  }
}

/// The repository's examples/ folder, found from this source file so tests run from any directory.
enum Examples {
  static func path(_ name: String, filePath: String = #filePath) -> String {
    var components = filePath.split(separator: "/", omittingEmptySubsequences: false)
    // …/Tests/RunnerTests/LAVA/ThisFile.swift → the package root.
    components.removeLast(4)
    return (components + ["examples", Substring(name)]).joined(separator: "/")
  }
}
