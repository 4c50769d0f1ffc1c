import Foundation
import Protocols

extension MonitorFileCommand {
  /// Every job's state from the process's ``LAVAJobWatcher`` (one batched request per round for
  /// all the jobs the runner follows on that server, woken by LAVA's events), each change
  /// reported, until all have finished or been stopped by a watchdog. While a job runs (the hang
  /// watchdog) or with LAVA_QUEUE_TIMEOUT, the wait for a change is cut every `polling.active` to
  /// let `watch` look at the jobs as last seen (no request of its own but the hang probes of
  /// running jobs' logs); jobs that only wait in the queue wait on the watcher alone.
  func waitUntilFinished(
    _ ids: [Int64], watcher: any LAVAJobWatcher, session: LAVACommandSession, watch: inout LAVAMonitorWatch,
    last restored: [Int64: LAVAJob] = [:],
    changed saveChanges: ([Int64: LAVAJob], LAVAMonitorWatch.Liveness) async throws -> Void
  ) async throws -> [Int64: LAVAJob] {
    let (log, retrier) = (session.context.log, session.retrier)
    let queueTimeout = session.settings.attempts.queueTimeout
    return try await watcher.watching(ids) {
      var last = restored
      while true {
        let known = last
        let look: Duration? =
          queueTimeout != nil || known.values.contains { $0.state == .running } ? polling.active : nil
        let next = try await retrier.change(
          of: ids, after: known, on: watcher, what: "the state of the LAVA jobs",
          within: known.isEmpty ? nil : look)
        var current = last
        if let next {
          let missing = ids.filter { next[$0] == nil }
          guard missing.isEmpty else {
            throw CommandFailure(
              .scriptFailure,
              "monitor-file: LAVA has no job " + missing.map(String.init).joined(separator: ", ")
                + " visible to this token; check \(file) and LAVA_URL")
          }
          current = next
        }
        var changed = false
        for id in ids {
          if let job = current[id], let change = LAVAStateChange.describe(job, after: last[id]) {
            await log.line(change, color: .cyan)
            changed = true
          }
        }
        last = current
        let lively = try await watch.check(ids.compactMap { current[$0] }, session: session)
        if changed || lively { try await saveChanges(last, watch.liveness) }
        if ids.allSatisfy({ watch.isDone(current[$0]) }) { return current }
      }
    }
  }

}
