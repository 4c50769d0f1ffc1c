import Foundation
import Protocols

/// A checkpoint store in memory, for tests of commands that resume: it hands back what it was
/// given as the previous runner's checkpoint and keeps every checkpoint saved since, in order.
///
/// `beforeSave` sees each checkpoint before it is kept; a test snapshots the job log there (what
/// the log held when the checkpoint was taken), or throws to play a runner killed at that point:
/// a checkpoint whose save threw is not kept, as a runner killed before the rename leaves none.
public final class InMemoryCheckpointStore: CheckpointStore, @unchecked Sendable {
  private let lock = NSLock()
  private let previous: Data?
  private var kept: [Data] = []
  private let beforeSave: (@Sendable (Data) async throws -> Void)?

  public init(restoring previous: Data? = nil, beforeSave: (@Sendable (Data) async throws -> Void)? = nil) {
    self.previous = previous
    self.beforeSave = beforeSave
  }

  public func restored() async -> Data? { previous }

  public func save(_ data: Data) async throws {
    try await beforeSave?(data)
    lock.withLock { kept.append(data) }
  }

  /// Every checkpoint saved, oldest first.
  public var saves: [Data] { lock.withLock { kept } }

  /// The last checkpoint saved: what a runner restarted now would find.
  public var last: Data? { lock.withLock { kept.last } }
}

/// What a test throws from ``InMemoryCheckpointStore``'s `beforeSave` to stop a command where a
/// SIGKILL would have.
public struct PlayedKill: Error, CustomStringConvertible {
  public init() {}
  public var description: String { "the runner was killed here (played by the test)" }
}
