import CoreMetrics
import Foundation
import Prometheus
import Protocols
import Synchronization

/// What the runner counts, exported in Prometheus' text format on `/metrics`. Names follow the
/// official runner's where the meaning is the same (`gitlab_runner_*`); the rest are
/// `lava_runner_*`. Each runner has its own registry, so tests can run several.
package final class RunnerMetrics: Sendable {
  package let registry = PrometheusCollectorRegistry()
  let factory: PrometheusMetricsFactory
  /// LAVA event streams up now (RunnerMetrics+LAVAWatcher.swift).
  let connectedEventStreams = Mutex(0)

  package init() {
    var factory = PrometheusMetricsFactory(registry: registry)
    let seconds: [Duration] = [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60].map { .milliseconds(Int64($0 * 1000)) }
    factory.defaultDurationHistogramBuckets = seconds
    factory.durationHistogramBuckets["gitlab_runner_job_duration_seconds"] = [
      30, 60, 300, 600, 1800, 3600, 7200, 14400,
    ].map { .seconds($0) }
    self.factory = factory
    runningJobs = CoreMetrics.Gauge(
      label: "gitlab_runner_jobs", dimensions: [("state", "running")], factory: factory)
    runningJobs.record(0)
    CoreMetrics.Gauge(label: "lava_runner_lava_event_streams_connected", factory: factory).record(0)
  }

  private let runningJobs: CoreMetrics.Gauge

  /// The text `/metrics` serves.
  package func render() -> String { registry.emitToString() }

  package func jobsRunning(_ count: Int) {
    runningJobs.record(count)
  }

  package func jobFinished(_ outcome: JobOutcome, duration: Duration) {
    let reason = outcome.failureReason?.rawValue ?? ""
    CoreMetrics.Counter(
      label: "lava_runner_jobs_finished_total",
      dimensions: [("state", outcome.state.rawValue), ("failure_reason", reason)], factory: factory
    ).increment()
    if outcome.state == .failed {
      CoreMetrics.Counter(
        label: "gitlab_runner_failed_jobs_total", dimensions: [("failure_reason", reason)], factory: factory
      )
      .increment()
    }
    CoreMetrics.Timer(label: "gitlab_runner_job_duration_seconds", factory: factory).recordNanoseconds(
      duration.nanoseconds)
  }

  /// One reply (or failure, status "error") from GitLab's API.
  package func gitLabRequest(endpoint: String, status: String, duration: Duration) {
    CoreMetrics.Counter(
      label: "gitlab_runner_api_request_statuses_total",
      dimensions: [("endpoint", endpoint), ("status", status)],
      factory: factory
    ).increment()
    CoreMetrics.Timer(
      label: "gitlab_runner_api_request_duration_seconds", dimensions: [("endpoint", endpoint)],
      factory: factory
    )
    .recordNanoseconds(duration.nanoseconds)
  }

  /// One reply (or failure, status "error") from a LAVA server.
  package func lavaRequest(endpoint: String, status: String, duration: Duration) {
    CoreMetrics.Counter(
      label: "lava_runner_lava_requests_total", dimensions: [("endpoint", endpoint), ("status", status)],
      factory: factory
    ).increment()
    CoreMetrics.Timer(
      label: "lava_runner_lava_request_duration_seconds", dimensions: [("endpoint", endpoint)],
      factory: factory
    )
    .recordNanoseconds(duration.nanoseconds)
  }

  /// A request tried again after a failure; `target` is `gitlab` or `lava`.
  package func retried(target: String, endpoint: String) {
    CoreMetrics.Counter(
      label: "lava_runner_request_retries_total", dimensions: [("target", target), ("endpoint", endpoint)],
      factory: factory
    ).increment()
  }

  /// A LAVA job whose log a command started to follow.
  package func lavaJobFollowed() {
    CoreMetrics.Counter(label: "lava_runner_lava_jobs_followed_total", factory: factory).increment()
  }

  /// Job log bytes GitLab accepted.
  package func logBytesForwarded(_ count: Int) {
    CoreMetrics.Counter(label: "lava_runner_log_bytes_forwarded_total", factory: factory).increment(by: count)
  }
}

extension RunnerMetrics {
  /// `jobs/123/trace/` → `jobs/:id/trace`: a path without its numeric ids, so that metrics have
  /// one series per endpoint.
  package static func endpointLabel(_ path: String) -> String {
    path.split(separator: "/").map { $0.allSatisfy(\.isNumber) ? ":id" : String($0) }.joined(separator: "/")
  }
}

extension Duration {
  package var nanoseconds: Int64 {
    components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
  }
}

/// Whether the runner can do its work: GitLab answered its last job request.
package final class RunnerHealth: Sendable {
  private let ready = Mutex(false)

  package init() {}

  package var isReady: Bool { ready.withLock { $0 } }

  package func jobRequest(succeeded: Bool) { ready.withLock { $0 = succeeded } }
}
