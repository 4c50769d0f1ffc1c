import Foundation
import GitLabAPI

/// Where a job's script is: the item of `script:` and the line inside it (an item may hold
/// several lines), with the line's text so that a resumed job checks it runs the same command.
package struct ScriptPosition: Codable, Sendable, Equatable, Hashable {
  package var item: Int
  package var line: Int
  package var command: String

  package init(item: Int, line: Int, command: String) {
    self.item = item
    self.line = line
    self.command = command
  }

  /// The key of the line's checkpoint in the record.
  var key: String { "\(item).\(line)" }
}

/// What the runner keeps of a job it holds, so that a runner restarted after its own death can
/// finish it (`jobs/<id>/record.json` in the state directory). It holds secrets (the job token,
/// the masked variables, dependency tokens) because finishing the job needs them.
package struct JobRecord: Codable, Sendable, Equatable {
  package static let fileName = "record.json"
  package static let traceFileName = "trace.log"
  package static let currentVersion = 1

  package var version = Self.currentVersion
  /// The job as GitLab sent it: id, token, variables, steps, timeout, artifacts, dependencies.
  package var payload: JobPayload
  /// When the job started on this runner, on the wall clock: its timeout runs from there.
  package var startedAt: Date
  /// The last moment the runner was known alive (every write, and a heartbeat): the restart
  /// notice says how long it was away.
  package var aliveAt: Date
  /// The script line running (or about to run); `nil` before the first.
  package var position: ScriptPosition?
  /// The current line's checkpoint, as its command saved it.
  package var checkpoints: [String: Data] = [:]
  /// How long the trace spool was when the current line's checkpoint was saved: what the
  /// command wrote after it, it writes again when resumed, so a restarted runner cuts the spool
  /// back to this length (the uploader never sends beyond it while the line runs).
  package var traceMark: Int64?
  /// How much of the trace GitLab acknowledged (its `Range`); the trace spool holds the rest.
  package var traceHeld: Int64 = 0
  /// Files commands offered to the artifacts, by name, with their path relative to the job folder.
  package var offers: [String: String] = [:]
  /// Secrets commands added with `addMask` (the masker must hide them after a restart too).
  package var masks: [String] = []

  package var jobID: Int64 { payload.id }

  package init(payload: JobPayload, startedAt: Date) {
    self.payload = payload
    self.startedAt = startedAt
    self.aliveAt = startedAt
  }

  /// Just the id and token, read from a record that does not decode as a whole.
  package struct Identity: Decodable {
    package var jobID: Int64
    package var token: String

    enum CodingKeys: String, CodingKey { case payload }
    enum PayloadKeys: String, CodingKey { case id, token }

    package init(from decoder: any Decoder) throws {
      let payload = try decoder.container(keyedBy: CodingKeys.self).nestedContainer(
        keyedBy: PayloadKeys.self, forKey: .payload)
      jobID = try payload.decode(Int64.self, forKey: .id)
      token = try payload.decode(String.self, forKey: .token)
    }
  }

  /// Why a record cannot be used.
  package struct DecodingProblem: Error, CustomStringConvertible {
    package var description: String
  }

  package static func decode(_ data: Data) throws(DecodingProblem) -> JobRecord {
    let record: JobRecord
    do {
      record = try makeDecoder().decode(JobRecord.self, from: data)
    } catch {
      throw DecodingProblem(description: Self.summary(of: error))
    }
    guard record.version == currentVersion else {
      throw DecodingProblem(
        description: "record version \(record.version), this runner reads \(currentVersion)")
    }
    return record
  }

  package func encoded() throws -> Data { try Self.makeEncoder().encode(self) }

  /// A decoding error without the values it may quote (a record holds secrets).
  private static func summary(of error: any Error) -> String {
    switch error as? DecodingError {
    case .dataCorrupted(let context): "malformed JSON at \(path(context.codingPath))"
    case .keyNotFound(let key, let context): "missing \(path(context.codingPath + [key]))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context):
      "wrong type at \(path(context.codingPath))"
    default: "not a job record"
    }
  }

  private static func path(_ keys: [any CodingKey]) -> String {
    keys.isEmpty
      ? "the top level" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
  }

  private static func makeEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    encoder.dateEncodingStrategy = .secondsSince1970
    return encoder
  }

  private static func makeDecoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .secondsSince1970
    return decoder
  }
}
