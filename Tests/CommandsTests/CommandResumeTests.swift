import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

// `submit` and `monitor-file` resumed from a checkpoint, as a runner restarted after its own
// death resumes them (issue 12): the job log of the first run up to a checkpoint followed by the
// resumed run's is the job log of an uninterrupted run, and nothing is submitted twice. The
// contexts say in the log where they find a dependency file, as the runner's does, so that a
// resumed command that has it said twice shows.

/// The job log as it was at each checkpoint saved, for a test to resume from any of them.
private final class CheckpointTimeline: @unchecked Sendable {
  private let lock = NSLock()
  private var entries: [(checkpoint: Data, log: String)] = []
  var log: RecordingJobLog?

  func note(_ data: Data) {
    lock.withLock { entries.append((data, log?.text ?? "")) }
  }

  var all: [(checkpoint: Data, log: String)] { lock.withLock { entries } }
}

/// Section markers carry the time they were written at: the outer sections' times are the
/// runner's clock, which moves between two runs.
private func withoutSectionTimes(_ text: String) -> String {
  text.replacingOccurrences(
    of: #"section_(start|end):[0-9]+:"#, with: "section_$1:T:", options: .regularExpression)
}

private let markedDefinition = "job_name: smoke {{ job.CI_JOB_ID }}\nactions: []\n"

/// The timeline a LAVA job goes through in these tests: queued, running with the first
/// `visible` lines, finished.
private func steps(visible: Int, health: LAVAJobHealth) -> [FakeLAVAServer.Step] {
  [
    .init(.submitted, visibleLines: 0), .init(.running, device: "qemu-01", visibleLines: visible),
    .init(.finished, health, device: "qemu-01"),
  ]
}

/// The same timeline from where a runner that saw `state` finds the job again.
private func steps(from state: String?, visible: Int, health: LAVAJobHealth) -> [FakeLAVAServer.Step] {
  let all = steps(visible: visible, health: health)
  guard let state, let index = all.firstIndex(where: { $0.state.rawValue == state }) else { return all }
  return Array(all[index...])
}

@Test(arguments: ["qemu-fail.log.yaml", "qemu-pass.log.yaml"])
func submitResumedFromAnyCheckpointWritesTheJobLogAndRawLogOfAnUninterruptedRun(_ fixture: String)
  async throws
{
  let lines = try LAVALogFixture.lines(fixture)
  let health: LAVAJobHealth = fixture.contains("fail") ? .incomplete : .complete
  let script = { (steps: [FakeLAVAServer.Step]) in
    FakeLAVAServer.ScriptedJob(steps: steps, lines: lines, junit: "<testsuites/>\n")
  }
  // Pages of 40 lines: fewer than ten pages a phase, so that the state is asked at the same
  // points whether the log is followed from its start or from a checkpoint.
  let fake = FakeLAVAServer(submitting: [41], pageSize: 40)
  fake.script(41, script(steps(visible: 240, health: health)))
  let timeline = CheckpointTimeline()
  let store = InMemoryCheckpointStore { timeline.note($0) }
  let context = try lavaContext(fake, files: ["lava-job.yaml": markedDefinition], checkpoints: store)
  timeline.log = context.recordingLog
  context.announcesDependencyFiles = true
  let first = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  let uninterrupted = context.recordingLog.text
  let rawLog = try #require(try context.artifactText("41_log.yaml"))
  #expect(rawLog == lines.map { $0.raw + "\n" }.joined())

  // From the ids' checkpoint on; the submission's own is the next tests'.
  let checkpoints = try timeline.all.filter {
    try JSONDecoder().decode(SubmitCheckpoint.self, from: $0.checkpoint).phase != .submitting
  }
  let phases = try checkpoints.map {
    try JSONDecoder().decode(SubmitCheckpoint.self, from: $0.checkpoint).phase
  }
  #expect(phases.first == .submitted && phases.last == .concluding)
  #expect(phases.filter { $0 == .following }.count >= 15, "a checkpoint per page and per state change")
  for (data, logThen) in checkpoints {
    #expect(data.count < 64 << 10)
    let saved = try JSONDecoder().decode(SubmitCheckpoint.self, from: data)
    let progress = saved.logs[41]
    let resumed = FakeLAVAServer(submitting: [99], pageSize: 40)
    resumed.script(41, script(steps(from: progress?.lastJob?.state, visible: 240, health: health)))
    resumed.assumeServed(41, lines: progress?.consumed ?? 0)
    let again = try lavaContext(
      resumed, files: ["lava-job.yaml": markedDefinition],
      checkpoints: InMemoryCheckpointStore(restoring: data),
      directory: context.workingDirectory.deletingLastPathComponent())
    again.announcesDependencyFiles = true
    let second = await outcome {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: again)
    }

    let at = "resumed \(saved.phase) at line \(progress?.consumed ?? 0)"
    #expect(second == first, "\(at)")
    #expect(resumed.protocolMistakes.isEmpty, "\(at): \(resumed.protocolMistakes)")
    #expect(resumed.definitions.isEmpty, "\(at): nothing submitted again")
    #expect(
      withoutSectionTimes(logThen + again.recordingLog.text) == withoutSectionTimes(uninterrupted),
      "\(at): the job log goes on as if the runner had never stopped")
    #expect(try again.artifactText("41_log.yaml") == rawLog, "\(at): the raw log is appended to")
    #expect(try again.artifactText("41_junit.xml") == "<testsuites/>\n", "\(at)")
  }
}

@Test func submitResumedAfterLAVAReceivedTheDefinitionFindsTheJobByItsMarkerAndDoesNotSubmitAgain()
  async throws
{
  let fake = FakeLAVAServer(submitting: [41])
  fake.script(
    41, FakeLAVAServer.ScriptedJob(steps: steps(visible: 2, health: .complete), lines: targetLines(3)))
  // The runner dies between LAVA's answer and the checkpoint that records the ids.
  let store = InMemoryCheckpointStore { data in
    if try JSONDecoder().decode(SubmitCheckpoint.self, from: data).phase == .submitted { throw PlayedKill() }
  }
  let context = try lavaContext(fake, files: ["lava-job.yaml": markedDefinition], checkpoints: store)
  _ = await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  let intent = try JSONDecoder().decode(SubmitCheckpoint.self, from: try #require(store.last))
  #expect(intent.phase == .submitting)
  let marker = try #require(intent.marker)
  #expect(fake.definitions == ["job_name: smoke 777 \(marker)\nactions: []\n"])

  let again = try lavaContext(
    fake, files: ["lava-job.yaml": markedDefinition],
    checkpoints: InMemoryCheckpointStore(restoring: store.last),
    directory: context.workingDirectory.deletingLastPathComponent())
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: again) }
      == nil)
  #expect(fake.definitions.count == 1, "found in LAVA, not sent again")
  #expect(fake.requests.contains("jobs described with \(marker)"))
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  let text = again.recordingLog.plainText
  #expect(text.contains("LAVA job 41: https://lava.example.com/scheduler/job/41"))
  #expect(!text.contains("Submitting lava-job.yaml"), "the first runner said it")
  #expect(again.renderedLAVALines == (1...3).map { "01:38:32 tgt  line \($0)" })
}

@Test func submitResumedBeforeLAVAReceivedTheDefinitionSendsItOnceWithTheSameMarker() async throws {
  let fake = FakeLAVAServer(submitting: [41])
  fake.script(
    41, FakeLAVAServer.ScriptedJob(steps: steps(visible: 1, health: .complete), lines: targetLines(1)))
  fake.received("job_name: another runner's lava-runner-ffffffffffffffff\nactions: []\n", ids: [40])
  let marker = "lava-runner-0123456789abcdef"
  let intent = try JSONEncoder().encode(SubmitCheckpoint(phase: .submitting, marker: marker))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": markedDefinition], checkpoints: InMemoryCheckpointStore(restoring: intent))
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
      == nil)
  #expect(fake.definitions == ["job_name: smoke 777 \(marker)\nactions: []\n"])
  #expect(fake.requests.first(where: { $0.hasPrefix("jobs described") }) == "jobs described with \(marker)")
}

@Test func submitWithoutAStateDirectorySendsTheDefinitionUnmarked() async throws {
  let fake = FakeLAVAServer(submitting: [41])
  fake.script(
    41, FakeLAVAServer.ScriptedJob(steps: steps(visible: 1, health: .complete), lines: targetLines(1)))
  let context = try lavaContext(fake, files: ["lava-job.yaml": markedDefinition])
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
      == nil)
  #expect(fake.definitions == ["job_name: smoke 777\nactions: []\n"])
}

@Test func aResumedSubmissionWhoseJobNameCouldNotBeMarkedFailsAsARunnerSystemFailureWithoutSending()
  async throws
{
  let fake = FakeLAVAServer(submitting: [41])
  let intent = try JSONEncoder().encode(SubmitCheckpoint(phase: .submitting, marker: nil))
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": markedDefinition], checkpoints: InMemoryCheckpointStore(restoring: intent))
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure?.failureReason == .runnerSystemFailure)
  #expect(failure?.message.contains("may or may not have reached") == true)
  #expect(fake.definitions.isEmpty)
}

@Test(arguments: ["submit", "monitor-file"])
func aCheckpointThatDoesNotDecodeFailsTheJobAsARunnerSystemFailure(_ command: String) async throws {
  let fake = FakeLAVAServer(submitting: [41])
  fake.passEveryJob()
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": markedDefinition, "jobs.json": #"{"jobids": [41]}"#],
    checkpoints: InMemoryCheckpointStore(restoring: Data(#"{"phase": "launching"}"#.utf8)))
  let failure = await outcome {
    if command == "submit" {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
    } else {
      try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
    }
  }
  #expect(failure?.failureReason == .runnerSystemFailure)
  #expect(
    failure?.message.hasPrefix("\(command): the runner restarted") == true, "\(String(describing: failure))")
  #expect(fake.requests.isEmpty, "nothing asked of LAVA: \(fake.requests)")
}

@Test func monitorFileResumedFromAnyCheckpointWritesTheJobLogOfAnUninterruptedRun() async throws {
  let ids: [Int64] = [51, 52]
  let scripts: [Int64: @Sendable ([FakeLAVAServer.Step]) -> FakeLAVAServer.ScriptedJob] = [
    51: { .init(steps: $0, lines: targetLines(7) + [lavaJobPass]) },
    52: { .init(steps: $0, lines: targetLines(4) + [lavaJobFail("Test", "boom")], failureComment: "boom") },
  ]
  let healths: [Int64: LAVAJobHealth] = [51: .complete, 52: .incomplete]
  let fake = FakeLAVAServer(pageSize: 3)
  for id in ids { fake.script(id, scripts[id]!(steps(visible: 2, health: healths[id]!))) }
  let timeline = CheckpointTimeline()
  let files = ["jobs.json": #"{"jobids": [51, 52]}"#]
  let context = try lavaContext(
    fake, files: files, checkpoints: InMemoryCheckpointStore { timeline.note($0) })
  timeline.log = context.recordingLog
  context.announcesDependencyFiles = true
  let first = await outcome {
    try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
  }
  #expect(first?.failureReason == .scriptFailure)
  let uninterrupted = context.recordingLog.text
  let rawLogs = try ids.map { try #require(try context.artifactText("\($0)_log.yaml")) }

  let phases = try timeline.all.map { try JSONDecoder().decode(MonitorCheckpoint.self, from: $0.checkpoint) }
  #expect(phases.contains { $0.phase == .waiting && !$0.last.isEmpty })
  #expect(phases.contains { $0.phase == .saving && $0.saved.count == 1 })
  for (data, logThen) in timeline.all {
    let saved = try JSONDecoder().decode(MonitorCheckpoint.self, from: data)
    let resumed = FakeLAVAServer(pageSize: 3)
    for id in ids {
      resumed.script(id, scripts[id]!(steps(from: saved.last[id]?.state, visible: 2, health: healths[id]!)))
    }
    let again = try lavaContext(
      resumed, files: files, checkpoints: InMemoryCheckpointStore(restoring: data),
      directory: context.workingDirectory.deletingLastPathComponent())
    again.announcesDependencyFiles = true
    let second = await outcome {
      try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: again)
    }

    let at = "resumed \(saved.phase) with \(saved.last.count) states and \(saved.saved.count) logs saved"
    #expect(second == first, "\(at)")
    #expect(resumed.protocolMistakes.isEmpty, "\(at): \(resumed.protocolMistakes)")
    #expect(
      withoutSectionTimes(logThen + again.recordingLog.text) == withoutSectionTimes(uninterrupted),
      "\(at): the job log goes on as if the runner had never stopped")
    #expect(try ids.map { try again.artifactText("\($0)_log.yaml") } == rawLogs, "\(at)")
    #expect(
      !resumed.requests.contains("log 51 from 0") || saved.saved[51] == nil, "\(at): a saved log is kept")
  }
}

@Test func submitAndMonitorFileSayTheyResume() {
  #expect(SubmitCommand.metadata.resumable)
  #expect(MonitorFileCommand.metadata.resumable)
}

@Test func submitResumedWithoutItsRawLogRebuildsItFromLAVAsFirstLines() async throws {
  let lines = try LAVALogFixture.lines("qemu-pass.log.yaml")
  let script = { (steps: [FakeLAVAServer.Step]) in FakeLAVAServer.ScriptedJob(steps: steps, lines: lines) }
  let fake = FakeLAVAServer(submitting: [41], pageSize: 40)
  fake.script(41, script(steps(visible: 240, health: .complete)))
  let timeline = CheckpointTimeline()
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": markedDefinition],
    checkpoints: InMemoryCheckpointStore { timeline.note($0) })
  timeline.log = context.recordingLog
  context.announcesDependencyFiles = true
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
      == nil)
  let rawLog = try #require(try context.artifactText("41_log.yaml"))
  let (data, logThen) = try #require(
    try timeline.all.first {
      try JSONDecoder().decode(SubmitCheckpoint.self, from: $0.checkpoint).logs[41]?.consumed == 160
    })
  // The node lost the job's folder with the runner.
  try FileManager.default.removeItem(at: context.workingDirectory)

  let resumed = FakeLAVAServer(pageSize: 40)
  resumed.script(41, script(steps(from: "Running", visible: 240, health: .complete)))
  let again = try lavaContext(
    resumed, files: ["lava-job.yaml": markedDefinition],
    checkpoints: InMemoryCheckpointStore(restoring: data),
    directory: context.workingDirectory.deletingLastPathComponent())
  again.announcesDependencyFiles = true
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: again) }
      == nil)
  #expect(try again.artifactText("41_log.yaml") == rawLog)
  #expect(
    resumed.requests.prefix(4) == ["log 41 from 0", "log 41 from 40", "log 41 from 80", "log 41 from 120"])
  #expect(resumed.protocolMistakes.isEmpty, "\(resumed.protocolMistakes)")
  #expect(
    withoutSectionTimes(logThen + again.recordingLog.text) == withoutSectionTimes(context.recordingLog.text))
}

@Test func checkpointsStaySmallWhenTheLinesKeptForFailureBlocksAreLong() async throws {
  let long = (1...40).map { LAVALogLine.lava("target", "line \($0) " + String(repeating: "x", count: 4000)) }
  let lines = [LAVALogLine.lava("info", "start: 1 boot (timeout 00:01:00)")] + long + [lavaJobPass]
  let fake = FakeLAVAServer(submitting: [41], pageSize: 10)
  fake.script(41, .init(steps: steps(visible: 42, health: .complete), lines: lines))
  let store = InMemoryCheckpointStore()
  let context = try lavaContext(fake, files: ["lava-job.yaml": markedDefinition], checkpoints: store)
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
      == nil)
  let sizes = store.saves.map(\.count)
  #expect(sizes.count >= 5)
  #expect(sizes.allSatisfy { $0 < 64 << 10 }, "sizes: \(sizes)")
}

@Test func submitResumedInAnyAttemptGoesOnWithTheAttemptsBeforeIt() async throws {
  // Attempt 1 (LAVA job 50) fails because of the lab, attempt 2 (51) passes.
  let scripts: [Int64: @Sendable ([FakeLAVAServer.Step]) -> FakeLAVAServer.ScriptedJob] = [
    50: { .init(steps: $0, lines: targetLines(5) + [lavaJobFail("Infrastructure", "tftp timed out")]) },
    51: { .init(steps: $0, lines: targetLines(4) + [lavaJobPass]) },
  ]
  let healths: [Int64: LAVAJobHealth] = [50: .incomplete, 51: .complete]
  let fake = FakeLAVAServer(submitting: [50], pageSize: 2)
  fake.thenSubmit([51])
  for id: Int64 in [50, 51] { fake.script(id, scripts[id]!(steps(visible: 2, health: healths[id]!))) }
  let timeline = CheckpointTimeline()
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": markedDefinition],
    checkpoints: InMemoryCheckpointStore { timeline.note($0) })
  timeline.log = context.recordingLog
  context.announcesDependencyFiles = true
  #expect(
    await outcome { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
      == nil)
  #expect(fake.definitions.count == 2)
  let uninterrupted = context.recordingLog.text
  #expect(uninterrupted.contains("LAVA job 51 log, attempt 2 of 3"))

  let checkpoints = try timeline.all.filter {
    try JSONDecoder().decode(SubmitCheckpoint.self, from: $0.checkpoint).phase != .submitting
  }
  #expect(
    try checkpoints.contains {
      try JSONDecoder().decode(SubmitCheckpoint.self, from: $0.checkpoint).earlier.count == 1
    })
  for (data, logThen) in checkpoints {
    let saved = try JSONDecoder().decode(SubmitCheckpoint.self, from: data)
    let resumed = FakeLAVAServer(submitting: [51], pageSize: 2)
    for id: Int64 in [50, 51] {
      resumed.script(
        id, scripts[id]!(steps(from: saved.logs[id]?.lastJob?.state, visible: 2, health: healths[id]!)))
      resumed.assumeServed(id, lines: saved.logs[id]?.consumed ?? 0)
    }
    let again = try lavaContext(
      resumed, files: ["lava-job.yaml": markedDefinition],
      checkpoints: InMemoryCheckpointStore(restoring: data),
      directory: context.workingDirectory.deletingLastPathComponent())
    again.announcesDependencyFiles = true
    let second = await outcome {
      try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: again)
    }

    let at = "resumed in attempt \(saved.earlier.count + 1), \(saved.phase), ids \(saved.ids)"
    #expect(second == nil, "\(at)")
    #expect(resumed.definitions.count == (saved.earlier.isEmpty ? 1 : 0), "\(at)")
    #expect(resumed.protocolMistakes.isEmpty, "\(at): \(resumed.protocolMistakes)")
    #expect(
      withoutSectionTimes(logThen + again.recordingLog.text) == withoutSectionTimes(uninterrupted),
      "\(at): the job log goes on as if the runner had never stopped")
  }
}
