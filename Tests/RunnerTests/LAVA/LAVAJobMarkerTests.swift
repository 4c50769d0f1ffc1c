import Foundation
import Testing

@testable import Commands
@testable import LAVA
@testable import YAML

/// The marker `submit` puts in a definition's `job_name` when the runner keeps checkpoints, so
/// that a restarted runner finds the submission in LAVA (issue 12): it lands in the job name's
/// value whatever its quoting, and the marked definition is as valid as the one written.
@Suite struct LAVAJobMarkerTests {
  static let marker = "lava-runner-0123456789abcdef"
  static let rest =
    "device_type: qemu\nvisibility: public\ntimeouts: {job: {minutes: 5}}\n"
    + "actions:\n- boot: {method: qemu, media: tmpfs, timeout: {minutes: 2}}\n"

  /// The job_name a YAML reader sees in `definition`.
  static func jobName(_ definition: String) throws -> String? {
    let document = try YAMLParser.parse(definition)
    return document?["job_name"]?.string
  }

  @Test(arguments: [
    ("job_name: smoke test", "smoke test"),
    ("job_name: smoke test   # the nightly one", "smoke test"),
    (#"job_name: "smoke: \"quoted\" #1""#, #"smoke: "quoted" #1"#),
    ("job_name: 'it''s a test' # comment", "it's a test"),
    ("job_name:\tsmoke", "smoke"),
  ])
  func theMarkerEndsTheJobNameWhateverItsQuoting(_ line: String, _ name: String) throws {
    let definition = line + "\n" + Self.rest
    let marked = try #require(LAVAJobMarker.insert(Self.marker, into: definition))
    #expect(try Self.jobName(marked) == name + " " + Self.marker)
    #expect(JobDefinitionValidator().validate(definition, file: "job.yaml").isEmpty)
    #expect(JobDefinitionValidator().validate(marked, file: "job.yaml").isEmpty, "\(marked)")
    #expect(
      marked.split(separator: "\n").count == definition.split(separator: "\n").count,
      "lines keep their numbers")
  }

  @Test(arguments: [
    "job_name: |\n  smoke\n", "job_name:\n  smoke\n", "job_name: &name smoke\n", "job_name: *name\n",
    "job_name: \"unterminated\n  on two lines\"\n", "name: smoke\n",
    "job_name: " + String(repeating: "x", count: 180) + "\n",
  ])
  func aJobNameThatCannotTakeTheMarkerIsLeftAlone(_ definition: String) {
    #expect(LAVAJobMarker.insert(Self.marker, into: definition) == nil)
  }

  @Test func markersAreRandomAndMadeOfWhatTheLAVAFilterTakes() {
    let markers = (0..<100).map { _ in LAVAJobMarker.make() }
    #expect(Set(markers).count == 100)
    #expect(
      markers.allSatisfy { $0.range(of: "^lava-runner-[0-9a-f]{16}$", options: .regularExpression) != nil })
  }
}
