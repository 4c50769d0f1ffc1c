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
  @Suite struct UploadArchiveWriterTests {
    @Test func writesFilesUnderTheirArchiveNames() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let first = try directory.file("work/jobs.json", contents: Data("[42]".utf8))
      let second = try directory.file("work/logs/lava.log", contents: Data("boot ok\n".utf8))
      let zip = directory.url.appendingPathComponent("upload.zip")
      try UploadArchiveWriter.write(
        [.init(name: "jobs.json", file: first), .init(name: "./logs/lava.log", file: second)],
        to: zip)
      let archive = try DependencyArchive(opening: zip)
      #expect(archive.entries.map(\.name) == ["jobs.json", "logs/lava.log"])
      let out = directory.url.appendingPathComponent("out")
      let extracted = try archive.extract("logs/lava.log", into: out)
      #expect(try Data(contentsOf: extracted) == Data("boot ok\n".utf8))
    }

    @Test func archiveIsReadableByInfoZip() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      var generator = SplitMix64(seed: 11)
      let big = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
      let file = try directory.file("big.bin", contents: big)
      let zip = directory.url.appendingPathComponent("upload.zip")
      try UploadArchiveWriter.write([.init(name: "bin/big.bin", file: file)], to: zip)
      #expect(try runProgram("/usr/bin/unzip", ["-p", zip.path, "bin/big.bin"]) == big)
    }

    @Test func directoriesAndLinksKeepTheirKind() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let folder = directory.url.appendingPathComponent("work/empty")
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      let link = directory.url.appendingPathComponent("work/link")
      try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "empty")
      let zip = directory.url.appendingPathComponent("upload.zip")
      try UploadArchiveWriter.write(
        [.init(name: "empty", file: folder), .init(name: "link", file: link)], to: zip)
      let entries = try DependencyArchive(opening: zip).entries
      #expect(entries.map(\.kind) == [.directory, .symbolicLink])
      #expect(entries.map(\.path) == ["empty", "link"])
    }

    @Test func replacesAnExistingArchive() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try directory.file("upload.zip", contents: Data("stale".utf8))
      let file = try directory.file("a.txt", contents: Data("a".utf8))
      try UploadArchiveWriter.write([.init(name: "a.txt", file: file)], to: zip)
      #expect(try DependencyArchive(opening: zip).entries.map(\.name) == ["a.txt"])
    }

    @Test(arguments: ["../a.txt", "/a.txt", "", "./"])
    func refusesNamesOutsideTheArchiveRoot(name: String) throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let file = try directory.file("a.txt", contents: Data("a".utf8))
      #expect(throws: ArtifactArchiveError.unsafeEntryName(entry: name)) {
        try UploadArchiveWriter.write(
          [.init(name: name, file: file)], to: directory.url.appendingPathComponent("u.zip"))
      }
    }

    @Test func missingFileIsReportedByName() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let missing = directory.url.appendingPathComponent("gone.txt")
      do {
        try UploadArchiveWriter.write(
          [.init(name: "gone.txt", file: missing)], to: directory.url.appendingPathComponent("u.zip"))
        Issue.record("expected an error for a missing file")
      } catch {
        guard case .cannotAdd(let name, let file, _) = error else {
          Issue.record("unexpected error \(error)")
          return
        }
        #expect(name == "gone.txt")
        #expect(file == missing.path)
      }
    }
  }
}
