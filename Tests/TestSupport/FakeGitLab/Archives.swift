import Foundation
import ZIPFoundation

/// Zip and gzip helpers for tests and the fake: zip through ZIPFoundation (in memory), gzip
/// through `/usr/bin/gzip` (Foundation on Linux has no gzip API, and a junit upload may hold several
/// gzip members, which gzip itself concatenates and checks).
public enum Archives {
  public enum Failure: Error, CustomStringConvertible {
    case zip(String)
    case gzip(String)

    public var description: String {
      switch self {
      case .zip(let why): "zip archive: \(why)"
      case .gzip(let why): "gzip: \(why) (is /usr/bin/gzip installed?)"
      }
    }
  }

  /// A zip holding `files` (`path: content`), as a dependency's artifacts archive.
  public static func zip(_ files: [String: String]) throws -> Data {
    let archive: Archive
    do {
      archive = try Archive(data: Data(), accessMode: .create)
    } catch {
      throw Failure.zip("cannot create an in-memory archive: \(error)")
    }
    for (path, content) in files.sorted(by: { $0.key < $1.key }) {
      let data = Data(content.utf8)
      try archive.addEntry(
        with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
      ) { position, size in
        data.subdata(in: Int(position)..<Int(position) + size)
      }
    }
    guard let data = archive.data else { throw Failure.zip("the in-memory archive has no data") }
    return data
  }

  /// The files in a zip archive: `path: bytes` (directories left out).
  public static func unzip(_ data: Data) throws -> [String: Data] {
    let archive: Archive
    do {
      archive = try Archive(data: data, accessMode: .read)
    } catch {
      throw Failure.zip("not a readable zip (\(data.count) bytes): \(error)")
    }
    var files: [String: Data] = [:]
    for entry in archive where entry.type == .file {
      var content = Data()
      _ = try archive.extract(entry, skipCRC32: false) { content.append($0) }
      files[entry.path] = content
    }
    return files
  }

  public static func gzip(_ data: Data) throws -> Data { try runGzip(["-c", "-n"], input: data) }

  /// All members of a gzip stream, decompressed and concatenated; CRCs checked by gzip.
  public static func gunzip(_ data: Data) throws -> Data { try runGzip(["-d", "-c"], input: data) }

  private static func runGzip(_ arguments: [String], input: Data) throws -> Data {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "fakegitlab-gzip-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // Files, not pipes: no risk of a pipe filling up while we wait.
    let inputURL = directory.appendingPathComponent("in")
    let outputURL = directory.appendingPathComponent("out")
    try input.write(to: inputURL)
    try Data().write(to: outputURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
    process.arguments = arguments
    process.standardInput = try FileHandle(forReadingFrom: inputURL)
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw Failure.gzip("cannot run /usr/bin/gzip: \(error)")
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw Failure.gzip("gzip \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return try Data(contentsOf: outputURL)
  }
}
