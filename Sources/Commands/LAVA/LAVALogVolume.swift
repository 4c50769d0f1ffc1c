import Foundation
import Protocols

/// How much LAVA log a command has put in the job log, shared by the LAVA jobs it follows:
/// past ``limit`` bytes only warnings, errors, exceptions and results still go in (sections are
/// written by ``LAVALogSections`` and stay balanced), after one note that says so.
final class LAVALogVolume: @unchecked Sendable {
  static let defaultLimit = 16 << 20
  /// Levels shown past the limit.
  static let kept: Set<String> = ["warning", "error", "exception", "results"]

  let limit: Int
  /// The artifacts that hold everything, named in the note.
  let artifacts: [String]
  private let lock = NSLock()
  private var written = 0
  private var noted = false

  init(limit: Int, artifacts: [String]) {
    self.limit = limit
    self.artifacts = artifacts
  }

  var bytesWritten: Int { lock.withLock { written } }

  /// What of `rendered` (a line of `level`) goes into the job log: all of it under the limit,
  /// and past it the note once and only the lines of the kept levels.
  func admit(_ rendered: String, level: String?) -> String {
    let (note, admitted) = admit(size: rendered.utf8.count, level: level)
    return admitted ? note + rendered : note
  }

  /// ``admit(_:level:)`` for a rendered line of `size` bytes: the note to put before it (empty
  /// but once) and whether the line goes in.
  func admit(size: Int, level: String?) -> (note: String, admitted: Bool) {
    lock.withLock {
      // Once past the limit, a short line that would still fit does not get in either.
      if !noted && written + size <= limit {
        written += size
        return ("", true)
      }
      var text = ""
      if !noted {
        noted = true
        text =
          LogColor.yellow.rawValue
          + "LAVA_LOG_LIMIT: the job log has \(Self.describe(limit)) of LAVA log; from "
          + "here on only warnings, errors, results and sections are shown. Every line is in "
          + artifacts.joined(separator: ", ") + " (artifacts)." + LAVALogRenderer.reset + "\n"
      }
      guard let level, Self.kept.contains(level) else { return (text, false) }
      return (text, true)
    }
  }

  /// `16MiB`, `16M`, `500k`, `500KB`, `1g` or a number of bytes; k, M and G are powers of 1024.
  static func bytes(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, digits.count <= 15, let number = Int(digits), number > 0 else { return nil }
    let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
    let shift: Int
    switch unit {
    case "", "b": shift = 0
    case "k", "kb", "kib": shift = 10
    case "m", "mb", "mib": shift = 20
    case "g", "gb", "gib": shift = 30
    default: return nil
    }
    let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
    return overflow ? nil : value
  }

  static func describe(_ bytes: Int) -> String {
    if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) bytes"
  }
}

extension LAVALogVolume {
  /// How much has been written and whether the note was, for a command that resumes.
  struct Snapshot: Sendable, Codable, Equatable {
    var written: Int
    var noted: Bool
  }

  var snapshot: Snapshot { lock.withLock { Snapshot(written: written, noted: noted) } }

  func restore(_ snapshot: Snapshot) {
    lock.withLock {
      written = snapshot.written
      noted = snapshot.noted
    }
  }
}
