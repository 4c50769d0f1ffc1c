import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// A job watcher over a fake LAVA server: says the first state at once, then holds every
/// change back until the test releases it, counting how often it is asked.
private final class HeldWatcher: LAVAJobWatcher, @unchecked Sendable {
  let fake: FakeLAVAServer
  private let lock = NSLock()
  private var asked = 0
  private var released = false

  init(_ fake: FakeLAVAServer) { self.fake = fake }

  var askedCount: Int { lock.withLock { asked } }
  func release() { lock.withLock { released = true } }

  func register(_ ids: [Int64]) async {}
  func unregister(_ ids: [Int64]) async {}
  func latest(of ids: [Int64]) async -> [Int64: LAVAJob] { [:] }

  func nextChange(of ids: [Int64], after known: [Int64: LAVAJob]) async throws -> [Int64: LAVAJob] {
    lock.withLock { asked += 1 }
    if !known.isEmpty {
      // As the real watcher: a cancelled caller gets CancellationError.
      while !lock.withLock({ released }) { try await Task.sleep(for: .milliseconds(2)) }
    }
    var states: [Int64: LAVAJob] = [:]
    // From a task of its own, as the runner's watcher asks from its loop: the fake rightly
    // refuses a request from a cancelled waiter, which a cancel may reach at any moment.
    for id in ids { states[id] = try await Task { try await fake.job(id) }.value }
    return states
  }
}

/// Issue 10: a thousand jobs waiting in LAVA's queue in one runner. Without LAVA_QUEUE_TIMEOUT
/// there is nothing to look at while a job is queued, so the follower waits on the watcher
/// alone: no timer tasks per job, no asking again every quiet interval.
@Test func aQueuedJobWithoutAQueueTimeoutWaitsOnTheWatcherWithoutAskingAgain() async throws {
  let fake = FakeLAVAServer(submitting: [41])
  fake.script(
    41,
    .init(
      steps: [.init(.submitted, visibleLines: 0), .init(.finished, .complete, device: "qemu-01")],
      lines: [lavaJobPass]))
  let watcher = HeldWatcher(fake)
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: queued\nactions: []\n"], jobWatcher: watcher)
  let run = Task {
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  }
  for _ in 0..<2000 where !context.recordingLog.plainText.contains("LAVA job 41 is queued") {
    try await Task.sleep(for: .milliseconds(5))
  }
  #expect(context.recordingLog.plainText.contains("LAVA job 41 is queued"))
  // Fifty times the quiet interval (4 ms) with the job queued.
  try await Task.sleep(for: .milliseconds(200))
  let asked = watcher.askedCount
  watcher.release()
  #expect(await run.value == nil)
  // The first state, then one wait for its change.
  #expect(asked == 2)
  #expect(context.recordingLog.plainText.contains("LAVA job 41 finished: Complete"))
}
