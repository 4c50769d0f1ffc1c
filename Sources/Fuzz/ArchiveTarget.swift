import Foundation
import JobEngine

extension FuzzTarget {
  /// A dependency's artifacts zip as `DependencyFiles` reads it: list the entries, extract
  /// each. Whatever the zip holds, nothing is written beside the target folder and no symbolic
  /// link in it leads outside.
  static let dependencyArchive = FuzzTarget(
    name: "dependency-archive", summary: "JobEngine DependencyArchive (zip entries, paths, links)"
  ) { data in
    let sandbox = ArchiveSandbox.shared
    let fileManager = FileManager.default
    try? fileManager.removeItem(at: sandbox.output)
    try? fileManager.removeItem(at: sandbox.archive)
    guard fileManager.createFile(atPath: sandbox.archive.path, contents: data) else {
      fatalError("cannot write \(sandbox.archive.path)")
    }
    guard let archive = try? DependencyArchive(opening: sandbox.archive) else { return }
    for entry in archive.entries {
      // A declared size past 1 MiB would only fill the disk; the fuzzer makes such sizes
      // from a few bytes of deflate.
      guard let path = entry.path, entry.uncompressedSize <= 1 << 20 else { continue }
      _ = try? archive.extract(path, into: sandbox.output)
    }
    let beside = (try? fileManager.contentsOfDirectory(atPath: sandbox.root.path)) ?? []
    fuzzCheck(
      Set(beside).isSubset(of: ["archive.zip", "out"]), "written beside the target folder: \(beside.sorted())"
    )
    let outside =
      (try? fileManager.contentsOfDirectory(atPath: sandbox.root.deletingLastPathComponent().path)) ?? []
    fuzzCheck(outside == [sandbox.root.lastPathComponent], "written beside the sandbox: \(outside.sorted())")
    let root = sandbox.output.resolvingSymlinksInPath().path
    let walker = fileManager.enumerator(atPath: sandbox.output.path)
    while let relative = walker?.nextObject() as? String {
      let path = sandbox.output.appendingPathComponent(relative).path
      guard let destination = try? fileManager.destinationOfSymbolicLink(atPath: path) else { continue }
      let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
      fuzzCheck(
        resolved == root || resolved.hasPrefix(root + "/"),
        "the link \(relative) → \(destination) leads to \(resolved), outside \(root)")
    }
  }
}

/// A folder of its own per process: `<tmp>/lava-runner-fuzz-<pid>/sandbox/{archive.zip,out}`.
final class ArchiveSandbox: Sendable {
  static let shared = ArchiveSandbox()
  let root: URL
  let archive: URL
  let output: URL

  private init() {
    let base = FileManager.default.temporaryDirectory
      .appendingPathComponent("lava-runner-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
    root = base.appendingPathComponent("sandbox")
    archive = root.appendingPathComponent("archive.zip")
    output = root.appendingPathComponent("out")
    try? FileManager.default.removeItem(at: base)
    try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: ArchiveSandbox.shared.root.deletingLastPathComponent()) }
  }
}
