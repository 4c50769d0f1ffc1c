import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

// A runner that died and restarted must not give a queued LAVA job a whole new
// LAVA_QUEUE_TIMEOUT: the watch goes on from when the job was submitted (`submit`) or the wait
// began (`monitor-file`), as the checkpoint saved it.

private let queueTimeout = [JobVariable(key: "LAVA_QUEUE_TIMEOUT", value: "30m")]

@Test func aSubmitResumedAfterItsJobWaitedPastTheQueueTimeoutCancelsItAtOnce() async throws {
  let fake = FakeLAVAServer()
  fake.script(41, .init(steps: [.init(.submitted)]))
  fake.setQueue(LAVADeviceTypeQueue(deviceType: "qemu", devices: 1, online: 0, idle: 0, jobsAhead: 3))
  var saved = SubmitCheckpoint(phase: .submitted, marker: "lava-runner-0123456789abcdef")
  saved.ids = [41]
  saved.submitted = Date().addingTimeInterval(-3600)
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: smoke\nactions: []\n"], variables: queueTimeout,
    checkpoints: InMemoryCheckpointStore(restoring: try JSONEncoder().encode(saved)))
  let failure = try #require(
    await resumedWithin(watchdog: "LAVA_QUEUE_TIMEOUT") {
      await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
    })
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("LAVA job 41 was still queued after 1h"), "\(failure.message)")
  #expect(fake.canceled == [41])
  #expect(fake.definitions.isEmpty)
}

@Test func aMonitorFileResumedAfterItsJobWaitedPastTheQueueTimeoutCancelsItAtOnce() async throws {
  let fake = FakeLAVAServer()
  fake.script(93, .init(steps: [.init(.submitted)]))
  fake.setQueue(LAVADeviceTypeQueue(deviceType: "qemu", devices: 1, online: 0, idle: 0, jobsAhead: 0))
  let saved = MonitorCheckpoint(phase: .waiting, began: Date().addingTimeInterval(-3600))
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [93]}"#], variables: queueTimeout,
    checkpoints: InMemoryCheckpointStore(restoring: try JSONEncoder().encode(saved)))
  let failure = try #require(
    await resumedWithin(watchdog: "LAVA_QUEUE_TIMEOUT") {
      await outcome { try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context) }
    })
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("LAVA job 93 was still queued after 1h"), "\(failure.message)")
  #expect(fake.canceled == [93])
}

@Test func aFreshSubmitStillWaitsItsQueueTimeoutFromItsSubmission() async throws {
  let fake = FakeLAVAServer(submitting: [42])
  fake.script(
    42,
    .init(steps: [.init(.submitted), .init(.finished, .complete, device: "qemu-01")], lines: [lavaJobPass]))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: smoke\nactions: []\n"], variables: queueTimeout)
  let failure = await resumedWithin(watchdog: "LAVA_QUEUE_TIMEOUT") {
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  }
  #expect(failure == nil, "\(String(describing: failure))")
  #expect(fake.canceled.isEmpty)
}
