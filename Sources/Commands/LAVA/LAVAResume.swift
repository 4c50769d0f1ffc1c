import Foundation
import Protocols

/// What the LAVA commands keep to resume after a runner restart (issue 12), and the helpers they
/// share: a LAVA job's state as saved, a follower's progress, the marker that finds a
/// submission again, and sections whose start the previous runner already wrote.

extension JobContext {
  /// Whether this job's checkpoints are kept (the runner has a state directory): only then do
  /// the commands pay for them (a marker in the definition, a checkpoint per page of log).
  var keepsCheckpoints: Bool { !(checkpoints is NoCheckpoints) }

  /// The checkpoint the previous runner saved for this script line, nil on a first run. One
  /// that does not decode (another version of lava-runner, a damaged file) fails the job as a
  /// runner system failure rather than redoing work that may already be done.
  func restoredCheckpoint<T: Decodable>(_ type: T.Type, command: String) async throws -> T? {
    do {
      return try await checkpoints.restored(type)
    } catch {
      throw CommandFailure(
        .runnerSystemFailure,
        "\(command): the runner restarted, and the progress it saved for this command cannot be read "
          + "(\(error)); the job cannot be resumed safely: run it again")
    }
  }
}

/// A LAVA job's state as a checkpoint keeps it.
struct LAVAJobRecord: Sendable, Codable, Equatable {
  var id: Int64
  var state: String
  var health: String
  var description: String
  var deviceType: String?
  var device: String?
  var failureComment: String?

  init(_ job: LAVAJob) {
    id = job.id
    state = job.state.rawValue
    health = job.health.rawValue
    description = job.description
    deviceType = job.deviceType
    device = job.device
    failureComment = job.failureComment
  }

  func job() throws -> LAVAJob {
    guard let state = LAVAJobState(rawValue: state), let health = LAVAJobHealth(rawValue: health) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: [], debugDescription: "unknown LAVA job state \(state)/\(health)"))
    }
    return LAVAJob(
      id: id, state: state, health: health, description: description, deviceType: deviceType, device: device,
      failureComment: failureComment)
  }
}

/// How far a ``LAVALogFollower`` got: lines consumed (written to the job log and the file),
/// the file's size then, the log's sections and what the log said about the job's end.
struct LAVAFollowCheckpoint: Sendable, Codable, Equatable {
  var consumed: Int
  var fileLength: UInt64
  /// Nil when the job's log has no sections (several LAVA jobs share the job log).
  var sections: LAVALogSections.Snapshot?
  var error: LAVAJobError
  var lastJob: LAVAJobRecord?
  /// When the running job last showed a sign of life, and when it was first seen running: a
  /// restarted runner's LAVA_HANG_TIMEOUT goes on from there. Nil before it runs (and in the
  /// checkpoints of versions that did not save them).
  var quietSince: Date? = nil
  var runningSince: Date? = nil

  /// The lines kept for failure blocks take at most about this many bytes in a checkpoint
  /// (checkpoints stay small); past it each is cut to ``cutLineBytes``, and a block a resumed
  /// runner shows has those lines cut, the only way its log can differ.
  static let keptLinesBudget = 32 << 10
  static let cutLineBytes = 256

  /// This checkpoint with its kept lines cut when they are over ``keptLinesBudget``.
  func bounded() -> LAVAFollowCheckpoint {
    let kept =
      (sections?.open ?? []).flatMap(\.recent) + (sections?.lastAction?.recent ?? [])
      + error.lastTargetLines
    guard kept.reduce(0, { $0 + $1.utf8.count }) > Self.keptLinesBudget else { return self }
    func cut(_ lines: [String]) -> [String] {
      lines.map { $0.utf8.count <= Self.cutLineBytes ? $0 : String($0.prefix(Self.cutLineBytes)) + "…" }
    }
    var copy = self
    if var sections = copy.sections {
      for index in sections.open.indices { sections.open[index].recent = cut(sections.open[index].recent) }
      if let recent = sections.lastAction?.recent { sections.lastAction?.recent = cut(recent) }
      copy.sections = sections
    }
    copy.error.lastTargetLines = cut(copy.error.lastTargetLines)
    return copy
  }
}

extension LAVAJobError {
  /// This error with its last target lines cut as ``LAVAFollowCheckpoint/bounded()`` cuts them.
  func bounded() -> LAVAJobError {
    LAVAFollowCheckpoint(consumed: 0, fileLength: 0, sections: nil, error: self, lastJob: nil).bounded().error
  }
}

/// A mark the runner puts in a definition's `job_name` before submitting it, so that a runner
/// that died before it learnt the LAVA job ids finds the jobs again by their description
/// (``LAVAServer/jobs(describedWith:)``) instead of submitting twice.
enum LAVAJobMarker {
  /// LAVA keeps at most this many characters of a `job_name`.
  static let longestJobName = 200

  /// `lava-runner-` and 16 random hexadecimal digits.
  static func make() -> String {
    var generator = SystemRandomNumberGenerator()
    let digits = (0..<16).map { _ in String(Int.random(in: 0..<16, using: &generator), radix: 16) }
    return "lava-runner-" + digits.joined()
  }

  /// `definition` with ` marker` at the end of its top-level `job_name` value, or nil when that
  /// value is not a scalar on the `job_name:` line (a block scalar, an alias, a value on the next
  /// line) or would grow past ``longestJobName``.
  static func insert(_ marker: String, into definition: String) -> String? {
    var lines = definition.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let index = lines.firstIndex(where: { $0.hasPrefix("job_name:") }) else { return nil }
    let line = lines[index]
    let afterKey = line.index(line.startIndex, offsetBy: "job_name:".count)
    let start = line[afterKey...].firstIndex { $0 != " " && $0 != "\t" }
    guard let start, start > afterKey else { return nil }
    let value = line[start...]
    let end: String.Index
    let length: Int
    switch value.first {
    case "\"":
      guard let close = closingDoubleQuote(value) else { return nil }
      end = close
      length = value.distance(from: value.startIndex, to: close) - 1
    case "'":
      guard let close = closingSingleQuote(value) else { return nil }
      end = close
      length = value.distance(from: value.startIndex, to: close) - 1
    case let first?:
      guard !"|>&*!{[%@`#,?:-\r".contains(first) else { return nil }
      let comment = value.range(of: " #")?.lowerBound ?? value.endIndex
      var last = comment
      while last > value.startIndex, " \t\r".contains(value[value.index(before: last)]) {
        last = value.index(before: last)
      }
      end = last
      length = value.distance(from: value.startIndex, to: last)
    case nil:
      return nil
    }
    guard length + 1 + marker.count <= longestJobName else { return nil }
    lines[index] = String(line[..<end]) + " " + marker + String(line[end...])
    return lines.joined(separator: "\n")
  }

  /// The closing `"` of a double-quoted scalar starting at `value`'s first character.
  private static func closingDoubleQuote(_ value: Substring) -> String.Index? {
    var index = value.index(after: value.startIndex)
    while index < value.endIndex {
      if value[index] == "\\" {
        index = value.index(after: index)
        guard index < value.endIndex else { return nil }
      } else if value[index] == "\"" {
        return index
      }
      index = value.index(after: index)
    }
    return nil
  }

  /// The closing `'` of a single-quoted scalar (`''` is a quote inside it).
  private static func closingSingleQuote(_ value: Substring) -> String.Index? {
    var index = value.index(after: value.startIndex)
    while index < value.endIndex {
      if value[index] == "'" {
        let next = value.index(after: index)
        guard next < value.endIndex, value[next] == "'" else { return index }
        index = value.index(after: next)
        continue
      }
      index = value.index(after: index)
    }
    return nil
  }
}

/// A job log section whose start a runner that died may already have written: ``begin(_:)``
/// writes it only on a first run, ``end(_:)`` always.
struct ResumableSection: Sendable {
  let id: String
  let header: String
  var collapsed = false

  init(_ name: String, header: String, collapsed: Bool = false) {
    self.id = LogSection.identifier(name)
    self.header = header
    self.collapsed = collapsed
  }

  func begin(_ log: any JobLog) async {
    await log.write(
      LogSection.start(id: id, options: collapsed ? "[collapsed=true]" : "", at: Date()) + header + "\n")
  }

  func end(_ log: any JobLog) async {
    await log.write(LogSection.end(id: id, at: Date()))
  }

  /// `body` inside the section, its start written unless `started`; the end is written however
  /// `body` ends, as ``JobLog/section(_:header:collapsed:now:_:)`` does.
  func run<T>(
    _ log: any JobLog, started: Bool, _ body: () async throws -> T
  ) async throws -> T {
    if !started { await begin(log) }
    do {
      let result = try await body()
      await end(log)
      return result
    } catch {
      await end(log)
      throw error
    }
  }
}
