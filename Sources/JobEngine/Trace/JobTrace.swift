import Foundation
import GitLabAPI
import HTTP
import Protocols
import RunnerCore
import Synchronization

/// The job log on its way to GitLab. Every write is masked, then appended to a spool file in
/// the job's folder; the uploader sends the spool in order from the offset GitLab holds, so a
/// chunk is never lost (the bytes stay on disk until GitLab has them) and never sent twice
/// (GitLab's `Range` says where to go on).
package final class JobTrace: MaskingJobLog, Sendable {
  /// Writers wait while more than this is spooled but not yet accepted by GitLab, so a command
  /// that logs faster than GitLab takes cannot fill the disk.
  package let backlogLimit: Int64

  private struct State {
    package var masker: SecretMasker
    package var checksum = TraceChecksum()
    package var spool: FileHandle
    package var length: Int64 = 0
    package var sent: Int64 = 0
    /// The uploader sends no further (``holdBack(after:)``); nil: all of it.
    package var sendLimit: Int64?
    package var finished = false
    package var abandoned = false
    package var waiters: [Int: (condition: Condition, continuation: CheckedContinuation<Void, Never>)] = [:]
    package var nextWaiter = 0
  }

  private enum Condition {
    /// The uploader: pending bytes reach a minimum, or the trace is finished.
    case pending(atLeast: Int64)
    /// A writer: the backlog drops to the limit.
    case backlog(atMost: Int64)
    /// The end of the job: the finished trace is all in GitLab.
    case drained
  }

  private let state: Mutex<State>
  package let spoolURL: URL

  /// A new, empty log spooled to `spoolURL` (0600); with `continuing`, the log a previous runner
  /// spooled there (a resumed job) goes on after what the file holds, or after its first
  /// `keeping` bytes (what the resumed command wrote after its checkpoint, it writes again).
  package init(
    spoolURL: URL, masker: SecretMasker, backlogLimit: Int64 = 16 << 20, continuing: Bool = false,
    keeping: Int64? = nil
  ) throws {
    if !continuing || !FileManager.default.fileExists(atPath: spoolURL.path) {
      _ = FileManager.default.createFile(
        atPath: spoolURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
    }
    let handle = try FileHandle(forUpdating: spoolURL)
    var state = State(masker: masker, spool: handle)
    if continuing {
      if let keeping, keeping >= 0, keeping < (try handle.seekToEnd()) {
        try handle.truncate(atOffset: UInt64(keeping))
      }
      try handle.seek(toOffset: 0)
      let existing = try handle.readToEnd() ?? Data()
      state.checksum.update(existing)
      state.length = Int64(existing.count)
      try handle.seekToEnd()
    }
    self.spoolURL = spoolURL
    self.backlogLimit = backlogLimit
    self.state = Mutex(state)
  }

  /// Whether the log so far ends a line (a resumed job's notice starts on a line of its own).
  package var endsWithNewline: Bool {
    state.withLock { state in
      guard state.length > 0 else { return true }
      do {
        try state.spool.seek(toOffset: UInt64(state.length - 1))
        let last = try state.spool.read(upToCount: 1)
        try state.spool.seekToEnd()
        return last == Data([0x0A])
      } catch {
        return true
      }
    }
  }

  // MARK: JobLog

  package func write(_ text: String) async {
    await write(masking: text.utf8)
  }

  package func write(utf8 bytes: [UInt8]) async {
    await write(masking: bytes)
  }

  private func write(masking bytes: some Sequence<UInt8>) async {
    let ready: Bool = state.withLock { state in
      guard !state.finished else { return true }
      let masked = state.masker.write(bytes)
      Self.append(masked, to: &state)
      let ready = state.abandoned || state.length - state.sent <= backlogLimit
      if !ready, state.sendLimit != nil {
        // A command writing this much between two checkpoints: sending it all beats waiting
        // for a checkpoint that its own wait holds up.
        state.sendLimit = nil
        Self.wakeWaiters(&state)
      }
      return ready
    }
    if !ready { await wait(for: .backlog(atMost: backlogLimit)) }
  }

  package func addMask(_ secret: String) {
    state.withLock { $0.masker.addMask(secret) }
  }

  /// Ends the log: releases what the masker held back. Later writes are dropped.
  /// Returns the checksum and size GitLab expects in the final update.
  @discardableResult
  package func finish() -> (checksum: String, size: Int64) {
    state.withLock { state in
      if !state.finished {
        Self.append(state.masker.flush(), to: &state)
        state.finished = true
        state.sendLimit = nil
        Self.wakeWaiters(&state)
      }
      return (state.checksum.formatted, state.length)
    }
  }

  // MARK: uploader side

  /// Holds back from the uploader what is written after the first `length` bytes (nil: holds
  /// nothing back). The job's record says that a resumed command writes again what follows
  /// `length`, so GitLab must not have it yet.
  package func holdBack(after length: Int64?) {
    state.withLock { state in
      state.sendLimit = state.finished ? nil : length
      Self.wakeWaiters(&state)
    }
  }

  /// The next bytes GitLab does not hold yet, at most `limit`, with their offset.
  package func nextChunk(limit: Int) -> (offset: Int64, bytes: Data)? {
    state.withLock { state in
      let end = Self.sendable(state)
      guard state.sent < end, !state.abandoned else { return nil }
      let count = Int(min(Int64(limit), end - state.sent))
      do {
        try state.spool.seek(toOffset: UInt64(state.sent))
        let bytes = try state.spool.read(upToCount: count) ?? Data()
        try state.spool.seekToEnd()
        return bytes.isEmpty ? nil : (state.sent, bytes)
      } catch {
        return nil
      }
    }
  }

  /// GitLab holds the first `length` bytes: go on from there. A length smaller than what was
  /// sent (GitLab lost a chunk) makes the uploader send again from it.
  package func gitLabHolds(_ length: Int64) {
    state.withLock { state in
      state.sent = max(0, min(length, state.length))
      Self.wakeWaiters(&state)
    }
  }

  /// GitLab will take no more of this log (the job is gone): writers stop waiting.
  package func abandon() {
    state.withLock { state in
      state.abandoned = true
      Self.wakeWaiters(&state)
    }
  }

  package var isFinished: Bool { state.withLock { $0.finished } }
  package var isAbandoned: Bool { state.withLock { $0.abandoned } }
  package var isFullySent: Bool { state.withLock { $0.finished && $0.sent == $0.length } }
  package var length: Int64 { state.withLock { $0.length } }
  /// What the uploader may send and GitLab does not hold yet.
  package var pending: Int64 { state.withLock { max(0, Self.sendable($0) - $0.sent) } }

  /// Waits until at least `bytes` are pending, the trace is finished or abandoned, or the
  /// calling task is cancelled.
  package func waitForPending(atLeast bytes: Int64) async {
    await wait(for: .pending(atLeast: bytes))
  }

  /// Waits until GitLab holds the whole finished trace; false when `timeout` passes first or
  /// GitLab will take no more.
  package func waitUntilDrained(timeout: Duration) async -> Bool {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.wait(for: .drained) }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      group.cancelAll()
    }
    return isFullySent && !isAbandoned
  }

  /// GitLab lost the log (412 on the final update) and wants it all again.
  package func resendFromStart() {
    state.withLock { state in
      state.sent = 0
      state.abandoned = false
    }
  }

  /// Every byte written so far, as GitLab should hold it.
  package func contents() throws -> Data {
    try state.withLock { state in
      try state.spool.seek(toOffset: 0)
      let data = try state.spool.readToEnd() ?? Data()
      try state.spool.seekToEnd()
      return data
    }
  }

  package func close() {
    state.withLock { state in try? state.spool.close() }
  }

  // MARK: waiting

  private func wait(for condition: Condition) async {
    let id = state.withLock { state in
      defer { state.nextWaiter += 1 }
      return state.nextWaiter
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let now = state.withLock { state in
          if Task.isCancelled || Self.holds(condition, in: state) { return true }
          state.waiters[id] = (condition, continuation)
          return false
        }
        if now { continuation.resume() }
      }
    } onCancel: {
      state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
    }
  }

  private static func holds(_ condition: Condition, in state: State) -> Bool {
    if state.abandoned { return true }
    switch condition {
    case .pending(let bytes): return state.finished || sendable(state) - state.sent >= bytes
    case .backlog(let limit): return state.finished || state.length - state.sent <= limit
    case .drained: return state.finished && state.sent == state.length
    }
  }

  /// Where the uploader stops: the end, or the limit ``holdBack(after:)`` set.
  private static func sendable(_ state: State) -> Int64 {
    state.sendLimit.map { min($0, state.length) } ?? state.length
  }

  private static func wakeWaiters(_ state: inout State) {
    for (id, waiter) in state.waiters where holds(waiter.condition, in: state) {
      state.waiters.removeValue(forKey: id)
      waiter.continuation.resume()
    }
  }

  private static func append(_ bytes: [UInt8], to state: inout State) {
    guard !bytes.isEmpty else { return }
    state.spool.write(Data(bytes))
    state.checksum.update(bytes)
    state.length += Int64(bytes.count)
    wakeWaiters(&state)
  }
}
