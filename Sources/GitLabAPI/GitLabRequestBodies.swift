import Foundation

/// The JSON bodies lava-runner sends to GitLab's runner API, one type per request, with the
/// field names GitLab reads. A field left nil is left out, as GitLab expects for unset settings.
package enum GitLabRequestBody {
  /// The `info` object of job requests, job updates and registrations.
  package struct RunnerInfo: Encodable, Sendable, Equatable {
    package var name: String
    package var version: String
    package var revision: String
    package var platform: String
    package var architecture: String
    package var executor: String
    package var shell: String
    package var features: [String: Bool]
  }

  /// `POST jobs/request`.
  package struct JobRequest: Encodable, Sendable {
    package var token: String
    package var system_id: String
    package var info: RunnerInfo
    package var last_update: String?
  }

  /// `PUT jobs/:id`.
  package struct JobUpdate: Encodable, Sendable {
    package struct Output: Encodable, Sendable {
      package var checksum: String
      package var bytesize: Int64
    }

    package var token: String
    package var state: String
    package var info: RunnerInfo
    package var failure_reason: String?
    package var exit_code: Int?
    package var output: Output?
  }

  /// `POST runners` with a registration token.
  package struct RegisterRunner: Encodable, Sendable {
    package var token: String
    package var description: String?
    package var tag_list: String?
    package var run_untagged: Bool
    package var locked: Bool
    package var paused: Bool
    package var access_level: String?
    package var maximum_timeout: Int?
    package var maintenance_note: String?
    package var info: RunnerInfo
  }

  /// `POST runners/verify`, `DELETE runners` and `DELETE runners/managers`.
  package struct RunnerToken: Encodable, Sendable {
    package var token: String
    package var system_id: String?
  }

  /// Keys sorted, so that a body reads the same every time; slashes as they are.
  static func encoded(_ body: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(body)
  }
}
