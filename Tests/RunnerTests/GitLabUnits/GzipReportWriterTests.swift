import Foundation
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

extension GitLabUnits {
  @Suite struct GzipReportWriterTests {
    private func randomData(_ count: Int, seed: UInt64) -> Data {
      var generator = SplitMix64(seed: seed)
      return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    @Test func gunzipRestoresTheConcatenatedFiles() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let first = Data("<testsuite name=\"a\"/>\n".utf8)
      let second = Data("<testsuite name=\"b\"/>\n".utf8)
      let files = [
        try directory.file("a.xml", contents: first), try directory.file("b.xml", contents: second),
      ]
      let archive = directory.url.appendingPathComponent("junit.gz")
      try GzipReportWriter.write(members: files, to: archive)
      let restored = try runProgram("/usr/bin/gunzip", ["-c", archive.path])
      #expect(restored == first + second)
    }

    @Test func writesOneMemberPerFile() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let files = [
        try directory.file("a.xml", contents: Data("first report".utf8)),
        try directory.file("b.xml", contents: Data("second report".utf8)),
      ]
      let combined = directory.url.appendingPathComponent("both.gz")
      try GzipReportWriter.write(members: files, to: combined)
      var separately = Data()
      for (index, file) in files.enumerated() {
        let single = directory.url.appendingPathComponent("single-\(index).gz")
        try GzipReportWriter.write(members: [file], to: single)
        #expect(try runProgram("/usr/bin/gunzip", ["-c", single.path]) == Data(contentsOf: file))
        separately += try Data(contentsOf: single)
      }
      #expect(try Data(contentsOf: combined) == separately)
      #expect(try Data(contentsOf: combined).prefix(2) == Data([0x1F, 0x8B]))
    }

    @Test func largeFilesRoundTripThroughManySlices() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      // Incompressible data larger than several slices exercises the output loop too.
      let big = randomData(GzipReportWriter.sliceSize * 5 + 123, seed: 3)
      let empty = Data()
      let files = [
        try directory.file("big.bin", contents: big), try directory.file("empty.xml", contents: empty),
      ]
      let archive = directory.url.appendingPathComponent("reports.gz")
      try GzipReportWriter.write(members: files, to: archive)
      #expect(try runProgram("/usr/bin/gunzip", ["-c", archive.path]) == big)
    }

    @Test func replacesAnExistingDestination() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let archive = try directory.file("junit.gz", contents: Data(repeating: 0x41, count: 10_000))
      let file = try directory.file("a.xml", contents: Data("x".utf8))
      try GzipReportWriter.write(members: [file], to: archive)
      #expect(try runProgram("/usr/bin/gunzip", ["-c", archive.path]) == Data("x".utf8))
    }

    @Test func missingInputIsReportedByName() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let missing = directory.url.appendingPathComponent("missing.xml")
      do {
        try GzipReportWriter.write(
          members: [missing], to: directory.url.appendingPathComponent("out.gz"))
        Issue.record("expected an error for a missing report file")
      } catch {
        guard case .cannotRead(let file, _) = error else {
          Issue.record("unexpected error \(error)")
          return
        }
        #expect(file == missing.path)
        #expect(error.description.contains("missing.xml"))
      }
    }
  }
}
