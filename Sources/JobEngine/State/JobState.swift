import Foundation
import GitLabAPI
import Logging
import Protocols
import Synchronization

/// The live record of one job the runner holds: every change is written to the job's
/// `record.json` at once (atomically, durably), and the folder is removed once the job is
/// reported.
package final class JobState: ScriptProgress, Sendable {
  package let folder: URL
  package let resumePoint: ScriptPosition?
  private let record: Mutex<JobRecord>
  private let logger: Logger
  /// The job's log, whose length each checkpoint records (``JobRecord/traceMark``).
  private let trace = Mutex<JobTrace?>(nil)

  package var recordURL: URL { folder.appendingPathComponent(JobRecord.fileName) }
  package var traceURL: URL { folder.appendingPathComponent(JobRecord.traceFileName) }
  package var snapshot: JobRecord { record.withLock { $0 } }

  /// A job starting on this runner: writes its first record.
  package init(newJob payload: JobPayload, folder: URL, logger: Logger) throws(StateFileError) {
    self.folder = folder
    self.resumePoint = nil
    self.logger = logger
    let first = JobRecord(payload: payload, startedAt: Date())
    self.record = Mutex(first)
    try write(first)
  }

  /// A job a previous runner held, resumed from its record.
  package init(resuming saved: StateDirectory.SavedJob, logger: Logger) {
    self.folder = saved.folder
    self.resumePoint = saved.record.position
    self.logger = logger
    self.record = Mutex(saved.record)
  }

  /// Applies `change` and writes the record; `written` runs once it is, before any other change.
  package func update(
    _ change: (inout JobRecord) -> Void, written: (JobRecord) -> Void = { _ in }
  ) throws(StateFileError) {
    let result: Result<Void, StateFileError> = record.withLock { record in
      change(&record)
      record.aliveAt = Date()
      do throws(StateFileError) {
        try write(record)
        written(record)
        return .success(())
      } catch {
        return .failure(error)
      }
    }
    try result.get()
  }

  /// As ``update(_:)`` for changes whose loss is recoverable (the trace offset, a heartbeat):
  /// a failure is logged, not thrown.
  package func note(_ change: (inout JobRecord) -> Void) {
    do {
      try update(change)
    } catch {
      logger.warning("cannot update the job's record", metadata: ["error": "\(error)"])
    }
  }

  /// From now on, each checkpoint records the length of `trace` and holds back what follows
  /// from GitLab until the next (``JobRecord/traceMark``).
  package func attach(_ trace: JobTrace) {
    self.trace.withLock { $0 = trace }
  }

  /// A resumed job's log goes on after its restart notice: that notice stays if the runner dies
  /// again before the resumed command saves a checkpoint.
  package func resumedAfterNotice() {
    guard let trace = trace.withLock({ $0 }), record.withLock({ $0.traceMark }) != nil else { return }
    do {
      try update({ $0.traceMark = trace.length }, written: { trace.holdBack(after: $0.traceMark) })
    } catch {
      logger.warning("cannot update the job's record", metadata: ["error": "\(error)"])
    }
  }

  // MARK: ScriptProgress

  package func starting(_ position: ScriptPosition) async throws {
    var changed = false
    try update { record in
      if record.position != position {
        record.checkpoints = [:]
        record.traceMark = nil
        changed = true
      }
      record.position = position
    }
    if changed { trace.withLock { $0 }?.holdBack(after: nil) }
  }

  /// The line's output all goes to GitLab now; the record stops saying that a resumed command
  /// writes it again (the spool is never cut back below what GitLab may hold).
  package func ended(_ position: ScriptPosition) async {
    let trace = self.trace.withLock { $0 }
    do {
      try update({ $0.traceMark = nil }, written: { _ in trace?.holdBack(after: nil) })
    } catch {
      logger.warning("cannot update the job's record", metadata: ["error": "\(error)"])
      trace?.holdBack(after: nil)
    }
  }

  /// The checkpoint store of the line now running.
  package var checkpoints: any CheckpointStore {
    guard let position = record.withLock({ $0.position }) else { return NoCheckpoints() }
    return LineCheckpoints(state: self, key: position.key)
  }

  fileprivate func checkpoint(_ key: String) -> Data? { record.withLock { $0.checkpoints[key] } }

  /// The mark is read and the uploader's limit moved under the record's lock: two saves at once
  /// (a command's followers) can neither record a mark below what GitLab was let have, nor
  /// let GitLab have more than the record says.
  fileprivate func save(_ data: Data, key: String) throws(StateFileError) {
    let trace = self.trace.withLock { $0 }
    try update(
      { record in
        record.checkpoints[key] = data
        record.traceMark = trace?.length
      },
      written: { trace?.holdBack(after: $0.traceMark) })
  }

  /// The job is reported: nothing of it is kept.
  package func remove() {
    try? FileManager.default.removeItem(at: folder)
    try? StateFile.syncDirectory(folder.deletingLastPathComponent())
  }

  private func write(_ record: JobRecord) throws(StateFileError) {
    let data: Data
    do {
      data = try record.encoded()
    } catch {
      throw StateFileError(path: recordURL.path, operation: "encode", reason: "\(error)")
    }
    try StateFile.writeAtomically(data, to: recordURL)
  }
}

/// One script line's checkpoints, kept in the job's record.
private struct LineCheckpoints: CheckpointStore {
  let state: JobState
  let key: String

  func restored() async -> Data? { state.checkpoint(key) }

  func save(_ data: Data) async throws { try state.save(data, key: key) }
}
