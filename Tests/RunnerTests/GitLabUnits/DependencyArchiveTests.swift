import Foundation
import Testing
import ZIPFoundation

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

extension GitLabUnits {
  @Suite struct DependencyArchiveTests {
    enum Fixture {
      case file(String, String)
      case directory(String)
      case link(String, String)
    }

    /// Builds a zip entry by entry, including names a safe writer would refuse.
    private func makeZip(_ entries: [Fixture], in directory: TemporaryDirectory) throws -> URL {
      let url = directory.url.appendingPathComponent("artifacts-\(UUID().uuidString).zip")
      let archive = try Archive(url: url, accessMode: .create)
      for entry in entries {
        let (name, type, data): (String, ZIPFoundation.Entry.EntryType, Data)
        switch entry {
        case .file(let path, let contents): (name, type, data) = (path, .file, Data(contents.utf8))
        case .directory(let path): (name, type, data) = (path, .directory, Data())
        case .link(let path, let target): (name, type, data) = (path, .symlink, Data(target.utf8))
        }
        let provider: Provider = { (position: Int64, size: Int) throws -> Data in
          data.subdata(in: Int(position)..<Int(position) + size)
        }
        try archive.addEntry(
          with: name, type: type, uncompressedSize: Int64(data.count),
          compressionMethod: type == .file ? .deflate : .none, provider: provider)
      }
      return url
    }

    @Test func listsEntriesWithNormalizedPathsAndKinds() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip(
        [
          .directory("results/"), .file("./results/jobs.json", "{}"), .link("latest", "results"),
          .file("../evil", "x"),
        ], in: directory)
      let entries = try DependencyArchive(opening: zip).entries
      #expect(entries.map(\.path) == ["results", "results/jobs.json", "latest", nil])
      #expect(entries.map(\.kind) == [.directory, .file, .symbolicLink, .file])
      #expect(entries[1].uncompressedSize == 2)
      #expect(entries[3].name == "../evil")
    }

    @Test func findsAnEntryWhateverTheSpellingOfItsPath() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip([.directory("out/"), .file("out/a.txt", "a")], in: directory)
      let archive = try DependencyArchive(opening: zip)
      #expect(archive.entry(at: "./out/a.txt")?.name == "out/a.txt")
      #expect(archive.entry(at: "out//a.txt")?.name == "out/a.txt")
      #expect(archive.entry(at: "out")?.kind == .directory)
      #expect(archive.entry(at: "./out/")?.kind == .directory)
      #expect(archive.entry(at: "b.txt") == nil)
    }

    @Test func extractsOneEntryAndNothingElse() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip(
        [.file("results/jobs.json", "[1,2]"), .file("other.txt", "no")], in: directory)
      let target = directory.url.appendingPathComponent("extract")
      let written = try DependencyArchive(opening: zip).extract("./results/jobs.json", into: target)
      #expect(written.path.hasSuffix("/extract/results/jobs.json"))
      #expect(try String(contentsOf: written, encoding: .utf8) == "[1,2]")
      #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("other.txt").path))
    }

    @Test func extractionReplacesAnExistingFile() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip([.file("jobs.json", "new")], in: directory)
      let old = try directory.file("extract/jobs.json", contents: Data("old contents".utf8))
      try DependencyArchive(opening: zip).extract("jobs.json", into: old.deletingLastPathComponent())
      #expect(try String(contentsOf: old, encoding: .utf8) == "new")
    }

    @Test func missingEntryIsReportedWithPathAndArchive() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip([.file("a.txt", "a")], in: directory)
      #expect(throws: ArtifactArchiveError.entryNotFound(path: "b.txt", archive: zip.path)) {
        try DependencyArchive(opening: zip).extract("b.txt", into: directory.url)
      }
    }

    @Test func refusesARequestedPathThatClimbsOut() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip([.file("../evil.txt", "x"), .file("/abs.txt", "y")], in: directory)
      let archive = try DependencyArchive(opening: zip)
      let target = directory.url.appendingPathComponent("extract")
      #expect(throws: ArtifactArchiveError.unsafeEntryName(entry: "../evil.txt")) {
        try archive.extract("../evil.txt", into: target)
      }
      #expect(throws: ArtifactArchiveError.unsafeEntryName(entry: "/abs.txt")) {
        try archive.extract("/abs.txt", into: target)
      }
      // Unsafe entries are never matched by a safe request either.
      #expect(throws: ArtifactArchiveError.entryNotFound(path: "evil.txt", archive: zip.path)) {
        try archive.extract("evil.txt", into: target)
      }
      #expect(!FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("evil.txt").path))
    }

    @Test func extractsASymbolicLinkThatStaysInside() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip([.link("logs/latest", "../results/jobs.json")], in: directory)
      let target = directory.url.appendingPathComponent("extract")
      let link = try DependencyArchive(opening: zip).extract("logs/latest", into: target)
      #expect(
        try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "../results/jobs.json")
    }

    @Test(arguments: ["../../outside", "/etc/passwd", "a/../../../x"])
    func refusesASymbolicLinkPointingOutside(target linkTarget: String) throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let zip = try makeZip([.link("escape", linkTarget)], in: directory)
      let target = directory.url.appendingPathComponent("extract")
      #expect(throws: ArtifactArchiveError.symlinkEscapes(entry: "escape", target: linkTarget)) {
        try DependencyArchive(opening: zip).extract("escape", into: target)
      }
      let escape = target.appendingPathComponent("escape").path
      #expect((try? FileManager.default.attributesOfItem(atPath: escape)) == nil)
    }

    @Test func refusesToWriteThroughAnExistingLinkLeadingOutside() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let outside = directory.url.appendingPathComponent("outside")
      try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
      let target = directory.url.appendingPathComponent("extract")
      try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
      try FileManager.default.createSymbolicLink(
        at: target.appendingPathComponent("evil"), withDestinationURL: outside)
      let zip = try makeZip([.file("evil/planted.txt", "x")], in: directory)
      #expect(throws: ArtifactArchiveError.destinationEscapes(entry: "evil/planted.txt")) {
        try DependencyArchive(opening: zip).extract("evil/planted.txt", into: target)
      }
      #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("planted.txt").path))
    }

    @Test func aFileThatIsNotAZipCannotBeOpened() throws {
      let directory = try TemporaryDirectory()
      defer { directory.remove() }
      let notZip = try directory.file("artifacts.zip", contents: Data("<html>login</html>".utf8))
      do {
        _ = try DependencyArchive(opening: notZip)
        Issue.record("opened a file that is not a zip")
      } catch {
        guard case .cannotOpen(let archive, _) = error else {
          Issue.record("unexpected error \(error)")
          return
        }
        #expect(archive == notZip.path)
      }
    }
  }
}
