import Foundation

/// Where a command keeps its progress so that a runner restarted after its own death (OOM kill,
/// `kill -9`, node failure, eviction) resumes the command instead of failing the job.
///
/// The runner gives each script line its own store. A command that can resume saves a small
/// Codable checkpoint whenever its progress changes in a way it must not redo (a LAVA job
/// submitted, log lines consumed) and reads it back at its start: `nil` on a first run, the last
/// saved value when the runner is resuming the job. Without a state directory (`--state-dir`)
/// saving does nothing and nothing is ever restored.
public protocol CheckpointStore: Sendable {
  /// The bytes saved by this script line before the runner restarted; `nil` on a first run.
  func restored() async -> Data?

  /// Saves `data` durably (written, synced and renamed into place) before returning, so that a
  /// runner killed right after still finds it. Checkpoints are small: keep them under 64 KiB.
  func save(_ data: Data) async throws
}

extension CheckpointStore {
  /// The checkpoint as `type`; `nil` on a first run. Throws when the saved bytes do not decode
  /// (a checkpoint of another version): the runner then fails the job cleanly.
  public func restored<T: Decodable>(_ type: T.Type) async throws -> T? {
    guard let data = await restored() else { return nil }
    return try JSONDecoder().decode(T.self, from: data)
  }

  /// Saves `value` as JSON.
  public func save<T: Encodable>(_ value: T) async throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    try await save(try encoder.encode(value))
  }
}

/// The store of a runner without a state directory: nothing is kept, nothing restored.
public struct NoCheckpoints: CheckpointStore {
  public init() {}
  public func restored() async -> Data? { nil }
  public func save(_ data: Data) async throws {}
}
