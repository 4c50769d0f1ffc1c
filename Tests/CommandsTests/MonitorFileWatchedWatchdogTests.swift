import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private func monitorWatched(_ fake: FakeLAVAServer, jobs: String, _ variables: [String: String]) async throws
  -> (CommandFailure?, RecordingJobContext)
{
  let context = try lavaContext(
    fake, files: ["jobs.json": jobs],
    variables: variables.map { JobVariable(key: $0.key, value: $0.value) }, jobWatcher: RoundWatcher(fake))
  // Bounded: without the watchdogs on this path, a quiet or queued job is waited on for ever. The
  // bound is generous: the parallel unit tier on a loaded 2-core machine starts every test at once,
  // and a test with hundreds of short waits may then take tens of seconds to get through them.
  let run = Task {
    await outcome { try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context) }
  }
  let bound = Task {
    try await Task.sleep(for: .seconds(90))
    run.cancel()
  }
  let failure = await run.value
  bound.cancel()
  #expect(!run.isCancelled, "monitor-file still waited after 90 s: no watchdog fired")
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
