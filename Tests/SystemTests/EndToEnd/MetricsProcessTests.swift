import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct MetricsProcessTests {
  /// Fetches `path` from the runner's status server with curl (plain HTTP on loopback).
  func fetch(_ port: UInt16, _ path: String) throws -> (status: Int, body: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let status = Int(output.split(separator: "\n").last ?? "") ?? 0
    return (status, String(output.dropLast(String(status).count + 1)))
  }

  func statusPort(in log: URL) throws -> UInt16? {
    let text = try String(contentsOf: log, encoding: .utf8)
    guard let range = text.range(of: #""port":"(\d+)""#, options: .regularExpression) else { return nil }
    return UInt16(text[range].filter(\.isNumber))
  }

  @Test func metricsMoveForAJobAndReadinessFollowsGitLab() async throws {
    let gitlab = FakeGitLab(configuration: .init(longPollTimeout: .milliseconds(300)))
    try await gitlab.start()
    try await withStatusServingRunner(gitlab: gitlab, token: "glrt-metrics-test-token-0123456") { port in

      try await waitUntil { (try? fetch(port, "/health/ready").status) == 200 }
      #expect(try fetch(port, "/health/live").status == 200)

      let job = await gitlab.enqueue(FakeJob(script: ["sumbit x.yaml"]))
      _ = try await gitlab.result(of: job.id, timeout: .seconds(30))
      try await waitUntil {
        (try? fetch(port, "/metrics").body.contains(
          #"gitlab_runner_failed_jobs_total{failure_reason="script_failure"} 1"#))
          == true
      }
      let metrics = try fetch(port, "/metrics")
      #expect(metrics.status == 200)
      #expect(
        metrics.body.contains(
          #"lava_runner_jobs_finished_total{state="failed",failure_reason="script_failure"} 1"#))
      #expect(
        metrics.body.contains(
          #"gitlab_runner_api_request_statuses_total{endpoint="jobs/request",status="201"} 1"#))
      #expect(metrics.body.contains("gitlab_runner_job_duration_seconds_count 1"))
      #expect(metrics.body.contains("lava_runner_log_bytes_forwarded_total"))
      try await waitUntil {
        (try? fetch(port, "/metrics").body.contains(#"gitlab_runner_jobs{state="running"} 0.0"#)) == true
      }

      await gitlab.stop()
      try await waitUntil(timeout: .seconds(30)) { (try? fetch(port, "/health/ready").status) == 503 }
      #expect(try fetch(port, "/health/live").status == 200)
      #expect(try fetch(port, "/metrics").body.contains(#"endpoint="jobs/request",status="error""#))
    }
  }

  @Test func lavaRequestCountersMoveAfterALAVAJob() async throws {
    let lavaToken = "lava-metrics-process-token-4242"
    let definition = """
      device_type: qemu
      job_name: metrics
      visibility: public
      timeouts:
        job:
          minutes: 5
      actions:
      - boot:
          method: qemu
      """
    try await FakeLAVA.withRunning(token: lavaToken) { lava in
      try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(300))) { gitlab in
        try await runLAVAJob(gitlab: gitlab, lava: lava, lavaToken: lavaToken, definition: definition)
      }
    }
  }

  func runLAVAJob(gitlab: FakeGitLab, lava: FakeLAVA, lavaToken: String, definition: String) async throws {
    try await withStatusServingRunner(gitlab: gitlab, token: "glrt-lava-metrics-test-token-01") { port in

      let job = await gitlab.enqueue(
        FakeJob(script: ["submit lava-job.yaml"])
          .variable(.init("LAVA_URL", await lava.url.absoluteString))
          .variable(.init("LAVA_TOKEN", lavaToken, masked: true))
          .dependency(.init(id: 5, name: "prepare", archive: .files(["lava-job.yaml": definition]))))
      try await waitUntil { await !lava.jobs.isEmpty }
      for id in await lava.jobs.keys {
        await lava.appendLog(id, [#"- {"dt": "t", "lvl": "target", "msg": "booted"}"#])
        await lava.update(id) {
          $0.state = "Finished"
          $0.health = "Complete"
        }
      }
      let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
      let trace = await gitlab.traceText(of: job.id)
      #expect(result.status == .success, "\(trace)")

      let metrics = try fetch(port, "/metrics").body
      #expect(metrics.contains(#"lava_runner_lava_requests_total{endpoint="jobs",status="201"} 1"#))
      #expect(metrics.contains(#"lava_runner_lava_requests_total{endpoint="jobs/:id/logs",status="200"}"#))
      // The job's states come from the LAVA watcher's batched requests (GET jobs/?id__in=…).
      #expect(metrics.contains(#"lava_runner_lava_request_duration_seconds_count{endpoint="jobs"}"#))
      #expect(metrics.contains(#"lava_runner_lava_requests_total{endpoint="jobs",status="200"}"#))
      #expect(metrics.contains("lava_runner_lava_watcher_batches_total "))
      #expect(metrics.contains("lava_runner_lava_event_streams_connected "))
      #expect(metrics.contains("lava_runner_lava_jobs_followed_total 1"))
      #expect(!metrics.contains(lavaToken))
      #expect(await lava.violations == [])
      #expect(await gitlab.violations == [])
    }
  }

  /// The built runner against `gitlab` with `token`, serving /metrics and /health on a port of
  /// its own; `body` gets the port; the runner is stopped when `body` ends.
  func withStatusServingRunner(
    gitlab: FakeGitLab, token: String, _ body: (UInt16) async throws -> Void
  ) async throws {
    await gitlab.addRunnerToken(token)
    let (process, output) = try BuiltRunner.start(
      ["run", "--check-interval", "0.2", "--listen-address", "127.0.0.1:0", "--log-format", "json"],
      environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": token])
    defer {
      if process.isRunning { process.terminate() }
      process.waitUntilExit()
    }
    try await waitUntil { (try? statusPort(in: output)) != nil }
    try await body(try #require(try statusPort(in: output), "the runner did not log its status port"))
  }
}
