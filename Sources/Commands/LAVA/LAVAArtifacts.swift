import Foundation
import Protocols

/// `<id>_log.yaml` in the job's working directory, written line by line as lines arrive so that a
/// long log never sits in memory, masked as a stream by the job's masker.
final class LAVALogFile: @unchecked Sendable {
  // Only the task following the job writes; the lock keeps that true if it ever changes.
  private let lock = NSLock()
  private let handle: FileHandle
  let url: URL
  private var masker: any StreamMasker
  private var closed = false

  init(jobID: Int64, in directory: URL, masker: any StreamMasker) throws(CommandFailure) {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw CommandFailure(.runnerSystemFailure, "cannot create the job's folder \(directory.path): \(error)")
    }
    url = directory.appendingPathComponent(LAVAArtifactNames.log(jobID))
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
      throw CommandFailure(.runnerSystemFailure, "cannot create \(url.path) for the raw LAVA log")
    }
    do {
      handle = try FileHandle(forWritingTo: url)
    } catch {
      throw CommandFailure(.runnerSystemFailure, "cannot open \(url.path) for the raw LAVA log: \(error)")
    }
    self.masker = masker
  }

  private init(url: URL, handle: FileHandle, masker: any StreamMasker) {
    self.url = url
    self.handle = handle
    self.masker = masker
  }

  /// The file a runner that died left, cut back to `length` bytes (what its last checkpoint
  /// counted) and open for appending; nil when it is missing or shorter (a node that lost its
  /// page cache), to be rebuilt from LAVA.
  static func resume(jobID: Int64, in directory: URL, length: UInt64, masker: any StreamMasker)
    -> LAVALogFile?
  {
    let url = directory.appendingPathComponent(LAVAArtifactNames.log(jobID))
    guard let handle = try? FileHandle(forUpdating: url) else { return nil }
    do {
      guard try handle.seekToEnd() >= length else {
        try? handle.close()
        return nil
      }
      try handle.truncate(atOffset: length)
      try handle.seek(toOffset: length)
    } catch {
      try? handle.close()
      return nil
    }
    return LAVALogFile(url: url, handle: handle, masker: masker)
  }

  /// Writes what the masker holds back and starts again with `fresh` (a masker of the job's
  /// secrets), so that the bytes in the file are all the lines appended so far; returns their
  /// size, for a checkpoint. A checkpoint comes after whole lines, and a masked variable is a
  /// single line: nothing a secret spans is let through.
  func checkpoint(fresh: any StreamMasker) throws(CommandFailure) -> UInt64 {
    do {
      return try lock.withLock {
        try handle.write(contentsOf: masker.flush())
        masker = fresh
        return try handle.offset()
      }
    } catch {
      throw CommandFailure(
        .runnerSystemFailure, "cannot write the raw LAVA log to \(url.path) (disk full?): \(error)")
    }
  }

  /// Bytes gathered before they are masked and written: a batch of long lines is written in
  /// pieces of about this size rather than copied whole.
  static let pieceSize = 1 << 20

  func append(_ lines: [LAVALogLine]) throws(CommandFailure) {
    guard !lines.isEmpty else { return }
    do {
      try lock.withLock {
        guard !closed else { return }
        var bytes: [UInt8] = []
        for line in lines {
          bytes.append(contentsOf: line.raw.utf8)
          bytes.append(UInt8(ascii: "\n"))
          if bytes.count >= Self.pieceSize {
            try handle.write(contentsOf: masker.write(bytes))
            bytes.removeAll(keepingCapacity: true)
          }
        }
        try handle.write(contentsOf: masker.write(bytes))
      }
    } catch {
      throw CommandFailure(
        .runnerSystemFailure, "cannot write the raw LAVA log to \(url.path) (disk full?): \(error)")
    }
  }

  /// Writes what the masker still holds back and closes the file.
  func close() {
    lock.withLock {
      guard !closed else { return }
      closed = true
      try? handle.write(contentsOf: masker.flush())
      try? handle.close()
    }
  }

  deinit { close() }
}

enum LAVAArtifactNames {
  static func log(_ id: Int64) -> String { "\(id)_log.yaml" }
  static func junit(_ id: Int64) -> String { "\(id)_junit.xml" }
}

extension LAVAServer {
  /// Downloads the job's JUnit report, masks it into `<id>_junit.xml` as a stream and offers it
  /// as an artifact. A report that cannot be had is a warning: the verdict comes from the job's
  /// health and test cases, not from this file. So is a report larger than the runner accepts:
  /// its download stops at the limit and no partial file is offered (a cut XML file would only
  /// make GitLab's report parser fail).
  func saveJUnit(of id: Int64, context: any JobContext, retrier: LAVARetrier) async {
    do {
      try await downloadAndOfferJUnit(of: id, context: context, retrier: retrier)
    } catch let tooLarge as LAVAReplyTooLarge {
      await context.log.warning(
        "no JUnit report for LAVA job \(id): its results are too large (more than "
          + "\(tooLarge.limitText), the most lava-runner downloads); the download was stopped. "
          + "The job's verdict does not depend on the report; see the results on LAVA.")
    } catch {
      await context.log.warning("no JUnit report for LAVA job \(id): \(context.mask(error))")
    }
  }

  private func downloadAndOfferJUnit(of id: Int64, context: any JobContext, retrier: LAVARetrier) async throws
  {
    let file = context.workingDirectory.appendingPathComponent(LAVAArtifactNames.junit(id))
    let download = file.appendingPathExtension("download")
    try FileManager.default.createDirectory(at: context.workingDirectory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: download) }
    try await retrier.run("the JUnit report of LAVA job \(id)") {
      try await downloadJUnit(of: id, to: download)
    }
    try MaskedCopy.copy(download, to: file, masker: context.makeMasker())
    try await context.offerArtifact(named: LAVAArtifactNames.junit(id), file: file)
  }
}

/// Copies a file through a streaming masker, a block at a time.
enum MaskedCopy {
  static let blockSize = 64 << 10

  static func copy(_ source: URL, to target: URL, masker: any StreamMasker, blockSize: Int = blockSize) throws
  {
    var masker = masker
    let input = try FileHandle(forReadingFrom: source)
    defer { try? input.close() }
    guard FileManager.default.createFile(atPath: target.path, contents: nil) else {
      throw CommandFailure(.runnerSystemFailure, "cannot create \(target.path)")
    }
    let output = try FileHandle(forWritingTo: target)
    defer { try? output.close() }
    while let block = try input.read(upToCount: blockSize), !block.isEmpty {
      try output.write(contentsOf: masker.write(block))
    }
    try output.write(contentsOf: masker.flush())
  }
}

/// What a LAVA log says about how its job ended: the `lava` suite's `job` result line, the
/// top-level action the job failed in and the device's last lines before the failure.
struct LAVAJobError: Sendable, Equatable, Codable {
  var type: String?
  var message: String?
  /// The top-level action (`3 lava-test-retry`) whose `fail` result LAVA wrote, or that was
  /// running when the job failed.
  var failedAction: String?
  /// The last ``keptTargetLines`` target lines, up to the first failure LAVA reported.
  @LAVAKeptTargetLines var lastTargetLines: [String] = []
  static let keptTargetLines = LAVAKeptTargetLines.limit
  /// The top-level actions with their timings, for `lava-report.json`.
  var actions = LAVAActionTimes()

  private var runningAction: String?
  private var frozen = false

  /// The top-level action running now (`2 boot-image-retry`), for ``LAVALineWatcher``s.
  var currentAction: String? { runningAction }

  init(type: String? = nil, message: String? = nil) {
    self.type = type
    self.message = message
  }

  mutating func note(_ line: LAVALogLine) {
    guard let entry = line.entry else { return }
    actions.note(entry)
    switch entry.message {
    case .text(let text) where entry.level == "target":
      guard !frozen else { return }
      _lastTargetLines.append(text)
    case .text(let text) where entry.level == "info":
      if let action = LAVALogSections.action(text) {
        runningAction = action.starts ? "\(action.number) \(action.name)" : nil
      }
    case .result(let fields) where fields["definition"] == "lava" && fields["result"] == "fail":
      if fields["case"] == "job" {
        failedAction = failedAction ?? runningAction
        frozen = true
        if fields["error_type"] != nil || fields["error_msg"] != nil {
          type = fields["error_type"]
          message = fields["error_msg"]
        }
      } else if let level = fields["level"], !level.isEmpty, level.allSatisfy({ $0.isASCII && $0.isNumber }) {
        failedAction = failedAction ?? "\(level) \(fields["case"] ?? "?")"
        frozen = true
      }
    default:
      break
    }
  }
}
