import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

// A runner that died and restarted must not give a quiet running LAVA job a whole new
// LAVA_HANG_TIMEOUT: the watch goes on from the job's last sign of life (its last new line, or
// when it was first seen running), as the checkpoint saved it.

private let hangTimeout = [
  JobVariable(key: "LAVA_HANG_TIMEOUT", value: "30m"), JobVariable(key: "LAVA_RETRIES", value: "0"),
]
private let running = LAVAJob(
  id: 51, state: .running, health: .unknown, description: "smoke", deviceType: "qemu", device: "qemu-01",
  failureComment: nil)

private func submitResumed(quietFor quiet: TimeInterval, watched: Bool) async throws -> (
  CommandFailure?, FakeLAVAServer
) {
  let fake = FakeLAVAServer()
  fake.script(51, .init(steps: [.init(.running, device: "qemu-01")], lines: [.lava("info", "start: 1 boot")]))
  var saved = SubmitCheckpoint(phase: .following, marker: "lava-runner-0123456789abcdef")
  saved.ids = [51]
  saved.submitted = Date().addingTimeInterval(-2 * quiet)
  var log = LAVAFollowCheckpoint(
    consumed: 1, fileLength: 0, sections: nil, error: LAVAJobError(), lastJob: LAVAJobRecord(running))
  log.quietSince = Date().addingTimeInterval(-quiet)
  log.runningSince = Date().addingTimeInterval(-quiet - 60)
  saved.logs[51] = log
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: smoke\nactions: []\n"], variables: hangTimeout,
    checkpoints: InMemoryCheckpointStore(restoring: try JSONEncoder().encode(saved)),
    jobWatcher: watched ? RoundWatcher(fake) : nil)
  let failure = await resumedWithin(watchdog: "LAVA_HANG_TIMEOUT") {
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  }
  return (failure, fake)
}

@Test(arguments: [false, true])
func aSubmitResumedAfterItsRunningJobWasQuietPastTheHangTimeoutCancelsItAtOnce(watched: Bool) async throws {
  let (failure, fake) = try await submitResumed(quietFor: 3600, watched: watched)
  let reported = try #require(failure)
  #expect(reported.failureReason == .runnerSystemFailure)
  #expect(reported.message.contains(#/printed nothing for 1h( \d+s)? while running/#), "\(reported.message)")
  #expect(reported.message.contains("LAVA_HANG_TIMEOUT"), "\(reported.message)")
  #expect(fake.canceled.contains(51))
  #expect(fake.definitions.isEmpty)
}

@Test func aSubmitResumedWithinTheHangTimeoutKeepsWaitingForTheJob() async throws {
  let fake = FakeLAVAServer()
  fake.script(
    52,
    .init(
      steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete, device: "qemu-01")],
      lines: [.lava("info", "start: 1 boot"), lavaJobPass]))
  var saved = SubmitCheckpoint(phase: .following, marker: "lava-runner-0123456789abcdef")
  saved.ids = [52]
  saved.submitted = Date().addingTimeInterval(-1200)
  var log = LAVAFollowCheckpoint(
    consumed: 1, fileLength: 0, sections: nil, error: LAVAJobError(),
    lastJob: LAVAJobRecord(
      LAVAJob(
        id: 52, state: .running, health: .unknown, description: "smoke", deviceType: "qemu",
        device: "qemu-01",
        failureComment: nil)))
  log.quietSince = Date().addingTimeInterval(-600)
  saved.logs[52] = log
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: smoke\nactions: []\n"], variables: hangTimeout,
    checkpoints: InMemoryCheckpointStore(restoring: try JSONEncoder().encode(saved)))
  let failure = await resumedWithin(watchdog: "LAVA_HANG_TIMEOUT") {
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  }
  #expect(failure == nil, "\(String(describing: failure))")
  #expect(fake.canceled.isEmpty)
}

@Test func submitSavesWhenItsRunningJobLastShowedASignOfLife() async throws {
  let fake = FakeLAVAServer(submitting: [53])
  fake.script(
    53,
    .init(
      steps: [.init(.running, device: "qemu-01"), .init(.finished, .complete, device: "qemu-01")],
      lines: [.lava("info", "start: 1 boot"), lavaJobPass]))
  let store = InMemoryCheckpointStore()
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: smoke\nactions: []\n"], variables: hangTimeout,
    checkpoints: store)
  let before = Date()
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure == nil, "\(String(describing: failure))")
  let following = try store.saves.map { try JSONDecoder().decode(SubmitCheckpoint.self, from: $0) }
    .compactMap { $0.logs[53] }
  let quiet = try #require(following.compactMap(\.quietSince).last, "no checkpoint saved the quiet time")
  #expect(quiet >= before.addingTimeInterval(-1) && quiet <= Date().addingTimeInterval(1))
  #expect(following.contains { $0.runningSince != nil })
}

@Test(arguments: [false, true])
func aMonitorFileResumedAfterItsRunningJobWasQuietPastTheHangTimeoutCancelsItAtOnce(watched: Bool)
  async throws
{
  let fake = FakeLAVAServer()
  fake.script(94, .init(steps: [.init(.running, device: "qemu-01")], lines: [.lava("info", "start: 1 boot")]))
  var saved = MonitorCheckpoint(phase: .waiting, began: Date().addingTimeInterval(-7200))
  saved.last = [
    94: LAVAJobRecord(
      LAVAJob(
        id: 94, state: .running, health: .unknown, description: "smoke", deviceType: "qemu",
        device: "qemu-01",
        failureComment: nil))
  ]
  // The previous runner's probes had read the job's one line: read again, it is no sign of life.
  saved.liveness = .init(quietSince: [94: Date().addingTimeInterval(-3600)], probedLines: [94: 1])
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [94]}"#], variables: hangTimeout,
    checkpoints: InMemoryCheckpointStore(restoring: try JSONEncoder().encode(saved)),
    jobWatcher: watched ? RoundWatcher(fake) : nil)
  let failure = try #require(
    await resumedWithin(watchdog: "LAVA_HANG_TIMEOUT") {
      await outcome { try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context) }
    })
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains(#/printed nothing for 1h( \d+s)? while running/#), "\(failure.message)")
  #expect(fake.canceled == [94])
}

@Test func monitorFileSavesWhenItsRunningJobLastShowedASignOfLife() async throws {
  let fake = FakeLAVAServer()
  fake.script(
    95,
    .init(
      steps: [
        .init(.running, device: "qemu-01"), .init(.running, device: "qemu-01"),
        .init(.finished, .complete, device: "qemu-01"),
      ],
      lines: [.lava("info", "start: 1 boot"), lavaJobPass]))
  let store = InMemoryCheckpointStore()
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [95]}"#], variables: hangTimeout, checkpoints: store)
  let before = Date()
  let failure = await outcome {
    try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
  }
  #expect(failure == nil, "\(String(describing: failure))")
  let saves = try store.saves.map { try JSONDecoder().decode(MonitorCheckpoint.self, from: $0) }
  let quiets: [Date] = saves.compactMap { $0.liveness?.quietSince[95] }
  let quiet = try #require(quiets.last, "no checkpoint saved the quiet time")
  #expect(quiet >= before.addingTimeInterval(-1) && quiet <= Date().addingTimeInterval(1))
}
