import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// A job watcher over a fake LAVA server, as the runner's: each round reads every registered
/// job's state; `nextChange` returns once a state differs from what the caller knows.
final class RoundWatcher: LAVAJobWatcher, @unchecked Sendable {
  let fake: FakeLAVAServer
  private let lock = NSLock()
  private var last: [Int64: LAVAJob] = [:]

  init(_ fake: FakeLAVAServer) { self.fake = fake }

  func register(_ ids: [Int64]) async {}
  func unregister(_ ids: [Int64]) async {}
  func latest(of ids: [Int64]) async -> [Int64: LAVAJob] { lock.withLock { last } }

  func nextChange(of ids: [Int64], after known: [Int64: LAVAJob]) async throws -> [Int64: LAVAJob] {
    while true {
      var states: [Int64: LAVAJob] = [:]
      // From a task of its own, as the runner's watcher asks from its loop: the fake rightly
      // refuses a request from a cancelled waiter, which a cancel may reach at any moment.
      for id in ids { states[id] = try await Task { try await fake.job(id) }.value }
      lock.withLock { last = states }
      if known.isEmpty || ids.contains(where: { states[$0] != known[$0] }) { return states }
      try await Task.sleep(for: .milliseconds(20))
    }
  }
}

private func monitorWatched(_ fake: FakeLAVAServer, jobs: String, _ variables: [String: String]) async throws
  -> (CommandFailure?, RecordingJobContext)
{
  let context = try lavaContext(
    fake, files: ["jobs.json": jobs],
    variables: variables.map { JobVariable(key: $0.key, value: $0.value) }, jobWatcher: RoundWatcher(fake))
  // Bounded: without the watchdogs on this path, a quiet or queued job is waited on for ever.
  let run = Task {
    await outcome { try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context) }
  }
  let bound = Task {
    try await Task.sleep(for: .seconds(20))
    run.cancel()
  }
  let failure = await run.value
  bound.cancel()
  #expect(!run.isCancelled, "monitor-file still waited after 20 s: no watchdog fired")
  expectBalancedSections(context.recordingLog.text)
  return (failure, context)
}

/// The runner always gives `monitor-file` its shared watcher: the watchdogs must work on that
/// path too, not only when each job's state is polled.
@Test func monitorFileOnTheRunnersWatcherCancelsAJobThatGoesQuiet() async throws {
  let fake = FakeLAVAServer(pageSize: 2)
  let lines = targetLines(4)
  fake.script(90, .init(steps: [.init(.running, device: "qemu-05", visibleLines: 3)], lines: lines))
  let (failure, context) = try await monitorWatched(
    fake, jobs: #"{"jobids": [90]}"#, ["LAVA_HANG_TIMEOUT": "1"])
  let stop = try #require(failure)
  #expect(stop.failureReason == .runnerSystemFailure)
  #expect(stop.message.contains("LAVA job 90 printed nothing for "), "\(stop.message)")
  #expect(fake.canceled == [90])
  #expect(try context.artifactText("90_log.yaml") == lines.map { $0.raw + "\n" }.joined())
}

@Test func monitorFileOnTheRunnersWatcherCancelsAJobQueuedPastTheQueueTimeout() async throws {
  let fake = FakeLAVAServer()
  fake.script(93, .init(steps: [.init(.submitted)]))
  fake.setQueue(LAVADeviceTypeQueue(deviceType: "qemu", devices: 1, online: 0, idle: 0, jobsAhead: 0))
  let (failure, _) = try await monitorWatched(fake, jobs: #"{"jobids": [93]}"#, ["LAVA_QUEUE_TIMEOUT": "1"])
  let stop = try #require(failure)
  #expect(stop.failureReason == .runnerSystemFailure)
  #expect(stop.message.contains("LAVA job 93 was still queued after "), "\(stop.message)")
  #expect(fake.canceled == [93])
}

@Test func monitorFileOnTheRunnersWatcherWithoutWatchdogsReportsTheJobsEnd() async throws {
  let fake = FakeLAVAServer()
  fake.script(
    94,
    .init(
      steps: [
        .init(.submitted), .init(.running, device: "qemu-01"), .init(.finished, .complete, device: "qemu-01"),
      ],
      lines: [lavaJobPass]))
  let (failure, context) = try await monitorWatched(
    fake, jobs: #"{"jobids": [94]}"#, [:])
  #expect(failure == nil, "\(String(describing: failure))")
  #expect(context.recordingLog.plainText.contains("LAVA job 94 finished: Complete"))
  #expect(fake.canceled.isEmpty)
}
