import Foundation
import TestSupport
import Testing

@testable import JobEngine

/// A runner that dies while holding a job, and a new runner on the same state directory.
///
/// The first runner runs in this process, so its death is staged rather than a real SIGKILL:
/// while its job waits mid-way (the toy command's gate), its state directory is copied as it is
/// on disk at that moment (what a SIGKILL leaves: the records are replaced atomically), then
/// its HTTP client is shut down so that nothing more of it reaches GitLab, and it is stopped.
/// The new runner gets the copy.
@Suite(.serialized) struct ResumeAfterDeathTests {
  static func temporary(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
  }

  /// Runs `script` on a first runner until the gate holds it at tick 3, "kills" that runner and
  /// returns the state directory it left.
  static func leaveHeldJob(
    _ gitlab: FakeGitLab, jobID: Int64, gate: URL
  ) async throws -> URL {
    let firstDirectory = temporary("state-first")
    let left = temporary("state-left")
    defer { try? FileManager.default.removeItem(at: firstDirectory) }
    let first = try await RunnerHarness(
      gitlab: gitlab, finalUpdatePatience: .milliseconds(300),
      stateDirectory: try StateDirectory(firstDirectory))
    let poller = first.poller
    let stop = first.stop
    let loop = Task { try? await poller.run(until: stop) }
    let deadline = ContinuousClock.now + .seconds(20)
    while await !gitlab.traceText(of: jobID).contains("tick 3\n") {
      guard ContinuousClock.now < deadline else { throw CancellationError() }
      try await Task.sleep(for: .milliseconds(20))
    }
    try await Task.sleep(for: .milliseconds(300))
    try FileManager.default.copyItem(at: firstDirectory, to: left)
    await first.http.shutdown()
    await gitlab.runnerProcessDied()
    stop.abort()
    await loop.value
    try? FileManager.default.removeItem(at: gate)
    return left
  }

  @Test func aJobHeldByARunnerThatDiedIsFinishedByTheNextWithTheSameTrace() async throws {
    let gate = Self.temporary("gate")
    let script = [
      "echo-test before", "count-test --to 6 --every-ms 20 --gate \(gate.path) --gate-after 3",
      "echo-test after",
    ]

    // The same job, uninterrupted (no gate file yet): the trace the resumed one must match.
    let reference = try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(FakeJob(script: script))
      let harness = try await RunnerHarness(gitlab: gitlab)
      return try await harness.running {
        _ = try await gitlab.result(of: job.id, timeout: .seconds(30))
        return await gitlab.traceText(of: job.id)
      }
    }
    try Data().write(to: gate)

    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(FakeJob(script: script))
      let left = try await Self.leaveHeldJob(gitlab, jobID: job.id, gate: gate)
      defer { try? FileManager.default.removeItem(at: left) }
      let record = left.appendingPathComponent("jobs/\(job.id)/record.json")
      #expect(FileManager.default.fileExists(atPath: record.path))

      let second = try await RunnerHarness(gitlab: gitlab, stateDirectory: try StateDirectory(left))
      let result = try await second.running { try await gitlab.result(of: job.id, timeout: .seconds(30)) }
      #expect(result.reportedState == "success")
      let trace = await gitlab.traceText(of: job.id)
      let lines = trace.split(separator: "\n", omittingEmptySubsequences: false)
      let notices = lines.filter { $0.contains("lava-runner restarted; it was away for") }
      #expect(notices.count == 1)
      #expect(notices.first?.contains("; resuming") == true)
      let withoutNotice = lines.filter { !$0.contains("lava-runner restarted") }
        .joined(separator: "\n")
      #expect(Self.normalized(withoutNotice) == Self.normalized(reference))
      #expect((1...6).allSatisfy { n in lines.filter { $0.hasSuffix("tick \(n)") }.count == 1 })
      #expect(await gitlab.violations == [])
      #expect(!FileManager.default.fileExists(atPath: left.appendingPathComponent("jobs/\(job.id)").path))
    }
  }

  /// The runner dies after a command wrote a line and before it saved the checkpoint that
  /// counts it: GitLab was never sent the line, and the resumed command writes it once.
  @Test func aLineWrittenButNotYetCheckpointedWhenTheRunnerDiedIsInTheTraceOnce() async throws {
    let gate = Self.temporary("save-gate")
    let script = [
      "count-test --to 6 --every-ms 20 --save-gate \(gate.path) --gate-after 3", "echo-test after",
    ]
    let reference = try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(FakeJob(script: script))
      let harness = try await RunnerHarness(gitlab: gitlab)
      return try await harness.running {
        _ = try await gitlab.result(of: job.id, timeout: .seconds(30))
        return await gitlab.traceText(of: job.id)
      }
    }
    try Data().write(to: gate)

    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(FakeJob(script: script))
      // Dies holding "tick 4" written (several trace intervals ago) but not saved.
      let left = try await Self.leaveHeldJob(gitlab, jobID: job.id, gate: gate)
      defer { try? FileManager.default.removeItem(at: left) }
      let spool = try String(
        contentsOf: left.appendingPathComponent("jobs/\(job.id)/trace.log"), encoding: .utf8)
      #expect(spool.contains("tick 4\n"))
      #expect(
        await !gitlab.traceText(of: job.id).contains("tick 4"), "GitLab got a line no checkpoint counts")

      let second = try await RunnerHarness(gitlab: gitlab, stateDirectory: try StateDirectory(left))
      let result = try await second.running { try await gitlab.result(of: job.id, timeout: .seconds(30)) }
      #expect(result.reportedState == "success")
      let lines = await gitlab.traceText(of: job.id).split(separator: "\n", omittingEmptySubsequences: false)
      #expect((1...6).allSatisfy { n in lines.filter { $0.hasSuffix("tick \(n)") }.count == 1 }, "\(lines)")
      let withoutNotice = lines.filter { !$0.contains("lava-runner restarted") }.joined(separator: "\n")
      #expect(Self.normalized(withoutNotice) == Self.normalized(reference))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func aJobCancelledWhileItsRunnerWasDownIsCleanedUpNotResumed() async throws {
    let gate = Self.temporary("gate")
    let cleanup = Self.temporary("cleanup")
    defer { try? FileManager.default.removeItem(at: cleanup) }
    try Data().write(to: gate)
    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: [
          "count-test --to 6 --every-ms 20 --gate \(gate.path) --gate-after 3 --cleanup-file \(cleanup.path)",
          "echo-test never",
        ]))
      let left = try await Self.leaveHeldJob(gitlab, jobID: job.id, gate: gate)
      defer { try? FileManager.default.removeItem(at: left) }
      await gitlab.cancel(jobID: job.id)
      await gitlab.forceCancel(jobID: job.id)
      let traceBefore = await gitlab.traceText(of: job.id)

      let second = try await RunnerHarness(gitlab: gitlab, stateDirectory: try StateDirectory(left))
      try await second.running {
        let deadline = ContinuousClock.now + .seconds(30)
        while FileManager.default.fileExists(atPath: left.appendingPathComponent("jobs/\(job.id)").path) {
          guard ContinuousClock.now < deadline else { break }
          try await Task.sleep(for: .milliseconds(20))
        }
      }
      #expect(
        try String(contentsOf: cleanup, encoding: .utf8) == "cleaned up after canceledImmediately at 3\n")
      #expect(!FileManager.default.fileExists(atPath: left.appendingPathComponent("jobs/\(job.id)").path))
      #expect(await gitlab.status(of: job.id) == .canceled)
      #expect(await gitlab.traceText(of: job.id) == traceBefore)
      #expect(await gitlab.violations == [])
    }
  }

  @Test func anUnreadableRecordFailsItsJobInGitLabAndIsMovedAside() async throws {
    let gate = Self.temporary("gate")
    try Data().write(to: gate)
    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: ["count-test --to 6 --every-ms 20 --gate \(gate.path) --gate-after 3"]))
      let left = try await Self.leaveHeldJob(gitlab, jobID: job.id, gate: gate)
      defer { try? FileManager.default.removeItem(at: left) }
      let record = left.appendingPathComponent("jobs/\(job.id)/record.json")
      var object = try JSONSerialization.jsonObject(with: Data(contentsOf: record)) as! [String: Any]
      object["version"] = "not a number"
      try JSONSerialization.data(withJSONObject: object).write(to: record)

      let second = try await RunnerHarness(gitlab: gitlab, stateDirectory: try StateDirectory(left))
      let result = try await second.running { try await gitlab.result(of: job.id, timeout: .seconds(30)) }
      #expect(result.reportedState == "failed")
      #expect(result.failureReason == "runner_system_failure")
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("tick 3"))
      #expect(trace.contains("its record of this job could not be read"))
      #expect(await gitlab.violations == [])
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: left.appendingPathComponent("corrupt").path).count
          == 1)
    }
  }

  @Test func aResumedJobTakesItsSlotBeforeNewJobsAreAskedFor() async throws {
    let gate = Self.temporary("gate")
    try Data().write(to: gate)
    // Short long polls: the dead runner's last job request must not still be open at the fake
    // when the next job is queued (GitLab would hand the job to it).
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(200))) { gitlab in
      let held = await gitlab.enqueue(
        FakeJob(script: ["count-test --to 8 --every-ms 100 --gate \(gate.path) --gate-after 3"]))
      let left = try await Self.leaveHeldJob(gitlab, jobID: held.id, gate: gate)
      defer { try? FileManager.default.removeItem(at: left) }
      try await Task.sleep(for: .milliseconds(600))
      let waiting = await gitlab.enqueue(FakeJob(script: ["echo-test next"]))

      let second = try await RunnerHarness(
        gitlab: gitlab, concurrent: 1, stateDirectory: try StateDirectory(left))
      try await second.running {
        let deadline = ContinuousClock.now + .seconds(30)
        while await gitlab.finalResult(of: held.id) == nil {
          // One slot, held by the resumed job: the queued job is not taken meanwhile.
          let status = await gitlab.status(of: waiting.id)
          #expect(status == .pending, "\(String(describing: status))")
          guard ContinuousClock.now < deadline else { break }
          try await Task.sleep(for: .milliseconds(10))
        }
        _ = try await gitlab.result(of: waiting.id, timeout: .seconds(30))
      }
      #expect(await gitlab.finalResult(of: held.id)?.reportedState == "success")
      #expect(await gitlab.finalResult(of: waiting.id)?.reportedState == "success")
      #expect(await gitlab.violations == [])
    }
  }

  /// The trace without what differs between any two runs (durations).
  static func normalized(_ trace: String) -> String {
    trace.replacingOccurrences(of: #"\d+(\.\d+)?m?s\b"#, with: "<t>", options: .regularExpression)
  }
}
