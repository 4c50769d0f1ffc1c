import Foundation
import GitLabAPI
import Protocols
import RunnerCore

/// Sends a job's trace to GitLab with `PATCH jobs/:id/trace`, at the pace GitLab asks for,
/// and passes on what GitLab says about the job (cancelled, gone).
package struct TraceUploader: Sendable {
  /// GitLab takes at most 1 MiB per patch.
  package static let maxChunk = 1 << 20

  package let client: GitLabClient
  package let jobID: Int64
  package let jobToken: String
  package let trace: JobTrace
  package let control: JobControl
  /// Until GitLab says otherwise (`X-GitLab-Trace-Update-Interval`).
  package var interval: Duration = .seconds(3)
  package var backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(30))
  /// Told how much of the log GitLab holds after each accepted patch (the job's record keeps it,
  /// so that a restarted runner goes on from there).
  package var held: (@Sendable (Int64) -> Void)?

  /// Runs until the finished trace is all in GitLab, or GitLab will take no more of it.
  package func run() async {
    let clock = ContinuousClock()
    var interval = self.interval
    var failures = 0
    var lastSend = clock.now - interval
    while !Task.isCancelled {
      if trace.isAbandoned || trace.isFullySent { return }
      let pending = trace.pending
      if pending == 0 {
        await trace.waitForPending(atLeast: 1)
        continue
      }
      // A full chunk, or the end of the log, goes at once; less waits for the interval, so
      // that a chatty job costs GitLab one request per interval, not one per line.
      if pending < Int64(Self.maxChunk) && !trace.isFinished {
        let due = lastSend + interval
        if clock.now < due {
          await withTaskGroup(of: Void.self) { group in
            group.addTask { await trace.waitForPending(atLeast: Int64(Self.maxChunk)) }
            group.addTask { try? await Task.sleep(until: due, clock: clock) }
            await group.next()
            group.cancelAll()
          }
          continue
        }
      }
      guard let chunk = trace.nextChunk(limit: Self.maxChunk) else { continue }
      lastSend = clock.now
      do {
        let reply = try await client.patchTrace(
          jobID: jobID, jobToken: jobToken, offset: chunk.offset, bytes: chunk.bytes)
        switch reply.status {
        case 202:
          failures = 0
          let held = reply.remoteLength ?? chunk.offset + Int64(chunk.bytes.count)
          client.metrics.logBytesForwarded(Int(max(0, held - chunk.offset)))
          trace.gitLabHolds(held)
          self.held?(held)
          if let updateInterval = reply.updateInterval, updateInterval > .zero { interval = updateInterval }
          JobStatusSignal.apply(reply.jobStatus, to: control)
        case 416 where reply.remoteLength.map { $0 <= trace.length } == true:
          // GitLab holds another length than we thought (a reply was lost): go on from it.
          trace.gitLabHolds(reply.remoteLength!)
          self.held?(reply.remoteLength!)
        case 403, 404:
          // The job token is no longer valid: GitLab cancelled or ended the job.
          control.cancel(.canceledImmediately)
          trace.abandon()
          return
        default:
          failures += 1
          client.metrics.retried(target: "gitlab", endpoint: "jobs/:id/trace")
          await sleep(backoff.delay(attempt: failures, retryAfter: reply.retryAfter))
        }
      } catch .cancelled {
        return
      } catch {
        failures += 1
        client.metrics.retried(target: "gitlab", endpoint: "jobs/:id/trace")
        await sleep(backoff.delay(attempt: failures))
      }
    }
  }

  private func sleep(_ duration: Duration) async {
    try? await Task.sleep(for: duration)
  }
}

/// What GitLab's `Job-Status` header asks of a running job.
package enum JobStatusSignal {
  package static func apply(_ status: String?, to control: JobControl) {
    switch status {
    case "canceling": control.cancel(.canceledGracefully)
    case "canceled", "failed": control.cancel(.canceledImmediately)
    default: break
    }
  }
}
