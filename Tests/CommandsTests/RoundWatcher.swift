import Foundation
import Protocols
import TestSupport

/// A job watcher over a fake LAVA server, as the runner's: each round reads every registered
/// job's state; `nextChange` returns once a state differs from what the caller knows.
///
/// As the runner's watcher, it keeps what its rounds read apart from the callers: a round runs
/// in a task of its own (the fake rightly refuses a request from a cancelled caller, and a
/// caller's wait is cut at any moment), and a state read for a caller whose wait was cut is
/// still the latest one, given at once to the next caller that does not know it. Without that
/// a loaded machine, where a round takes longer than the caller's wait, would read every
/// change and hand over none.
final class RoundWatcher: LAVAJobWatcher, @unchecked Sendable {
  let fake: FakeLAVAServer
  /// How long the first round once a job runs takes (ignoring cancellation): the runner cannot
  /// get back to its jobs for that long (a starved or stopped process).
  let stallOnceRunning: Duration?
  private let lock = NSLock()
  private var last: [Int64: LAVAJob] = [:]
  private var stalled = false

  init(_ fake: FakeLAVAServer, stallOnceRunning: Duration? = nil) {
    self.fake = fake
    self.stallOnceRunning = stallOnceRunning
  }

  func register(_ ids: [Int64]) async {}
  func unregister(_ ids: [Int64]) async {}
  func latest(of ids: [Int64]) async -> [Int64: LAVAJob] { lock.withLock { last } }

  func nextChange(of ids: [Int64], after known: [Int64: LAVAJob]) async throws -> [Int64: LAVAJob] {
    while true {
      let cached = lock.withLock { last }
      if !known.isEmpty, ids.allSatisfy({ cached[$0] != nil }),
        ids.contains(where: { cached[$0] != known[$0] })
      {
        return cached.filter { ids.contains($0.key) }
      }
      try await stallIfDue(known)
      let states = try await Task { [fake, lock] in
        var states: [Int64: LAVAJob] = [:]
        for id in ids { states[id] = try await fake.job(id) }
        lock.withLock { self.last.merge(states) { $1 } }
        return states
      }.value
      if known.isEmpty || ids.contains(where: { states[$0] != known[$0] }) { return states }
      try await Task.sleep(for: .milliseconds(2))
    }
  }

  private func stallIfDue(_ known: [Int64: LAVAJob]) async throws {
    guard let stall = stallOnceRunning else { return }
    let now = lock.withLock {
      let due = !stalled && known.values.contains { $0.state == .running }
      if due { stalled = true }
      return due
    }
    guard now else { return }
    let seconds = Double(stall.components.seconds) + Double(stall.components.attoseconds) / 1e18
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { done.resume() }
    }
  }
}
