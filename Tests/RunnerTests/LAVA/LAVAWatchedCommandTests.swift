import Commands
import Foundation
import Protocols
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// `submit` and `monitor-file` with the runner's own LAVA connections: job states come from the
/// shared watcher (batched rounds woken by the event stream), never from per-job requests, and a
/// queued job's log is not asked for.
@Suite struct LAVAWatchedCommandTests {
  static let token = "watched-token-5678"

  static let polling = LAVAPolling(
    active: .milliseconds(20), quietMax: .milliseconds(100),
    retry: RetryPolicy(initial: .milliseconds(10), maximum: .milliseconds(50), jitter: 0),
    outageNotice: .seconds(1), cleanupTimeout: .seconds(5))

  static func context(_ lava: FakeLAVA, files: [String: String]) async throws -> RecordingJobContext {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    // A poll interval no test waits for: the event stream must wake the watcher.
    let connections = LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics(),
      watcherTiming: LAVAWatcher.Timing(active: .seconds(30), quietMax: .seconds(30)))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("watched-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var dependencies: [String: URL] = [:]
    for (name, text) in files {
      dependencies[name] = directory.appendingPathComponent(name)
      try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }
    return RecordingJobContext(
      variables: [
        JobVariable(key: "LAVA_URL", value: await lava.url.absoluteString),
        JobVariable(key: "LAVA_TOKEN", value: token),
      ],
      dependencyFiles: dependencies, workingDirectory: directory.appendingPathComponent("work"),
      lava: connections)
  }

  static let passLine =
    #"- {"dt": "2026-11-30T10:00:02", "lvl": "results", "msg": {"case": "job", "definition": "lava", "result": "pass"}}"#

  static func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !(await condition()) {
      guard ContinuousClock.now < deadline else {
        Issue.record("timed out")
        throw CancellationError()
      }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  @Test func submitAsksNoLogWhileItsJobIsQueuedAndFollowsItOnceAnEventSaysItRuns() async throws {
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      let definition =
        "job_name: watched\ndevice_type: qemu\nvisibility: public\npriority: medium\n"
        + "timeouts: {job: {minutes: 5}}\nactions:\n- boot: {method: qemu, media: tmpfs, timeout: {minutes: 1}}\n"
      let context = try await Self.context(lava, files: ["job.yaml": definition])
      let run = Task { try await SubmitCommand(file: "job.yaml", polling: Self.polling).run(in: context) }
      try await Self.waitUntil { await lava.jobs.count == 1 && lava.events.connectedClients == 1 }
      let id = try #require(await lava.jobs.keys.first)
      // Queued for a while: many of the command's poll intervals pass without a log request.
      try await Task.sleep(for: .milliseconds(500))
      #expect(await lava.requests(to: .logs).isEmpty)
      #expect(context.recordingLog.plainText.contains("LAVA job \(id) is queued"))
      await lava.appendLog(id, [#"- {"dt": "2026-11-30T10:00:01", "lvl": "target", "msg": "booting"}"#])
      await lava.update(id) {
        $0.state = "Running"
        $0.device = "qemu-01"
      }
      try await Self.waitUntil { context.recordingLog.plainText.contains("booting") }
      await lava.appendLog(id, [Self.passLine])
      await lava.update(id) {
        $0.state = "Finished"
        $0.health = "Complete"
      }
      try await run.value
      let text = context.recordingLog.plainText
      #expect(text.contains("LAVA job \(id) is running on qemu-01"))
      #expect(text.contains("LAVA job \(id) finished: Complete"))
      // Every state came from the watcher's batched rounds: none from a request for this job.
      #expect(await lava.requests(to: .job).isEmpty)
      #expect(await lava.requests(to: .jobList).count >= 3)
      #expect(await lava.violations == [])
    }
  }

  @Test func monitorFileWaitsOnTheWatcherAndReportsEachChange() async throws {
    try await FakeLAVA.withRunning(token: Self.token) { lava in
      let first = await lava.addJob(FakeLAVAJob(state: "Submitted"))
      let second = await lava.addJob(FakeLAVAJob(state: "Running", device: "qemu-02"))
      let context = try await Self.context(
        lava, files: ["jobs.json": #"{"jobids": [\#(first), \#(second)]}"#])
      let run = Task {
        try await MonitorFileCommand(file: "jobs.json", polling: Self.polling).run(in: context)
      }
      try await Self.waitUntil { lava.events.connectedClients == 1 }
      try await Self.waitUntil { context.recordingLog.plainText.contains("LAVA job \(first) is queued") }
      for id in [first, second] {
        await lava.appendLog(id, [Self.passLine])
        await lava.update(id) {
          $0.state = "Finished"
          $0.health = "Complete"
        }
      }
      try await run.value
      let text = context.recordingLog.plainText
      #expect(text.contains("LAVA job \(second) is running on qemu-02"))
      #expect(text.contains("LAVA job \(first) finished: Complete"))
      #expect(text.contains("LAVA job \(second) finished: Complete"))
      #expect(await lava.requests(to: .job).isEmpty)
      #expect(await lava.violations == [])
    }
  }
}
