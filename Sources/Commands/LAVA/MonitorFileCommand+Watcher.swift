import Foundation
import Protocols

extension MonitorFileCommand {
  /// Every job's state from the process's ``LAVAJobWatcher`` (one batched request per round for
  /// all the jobs the runner follows on that server, woken by LAVA's events), each change
  /// reported, until all have finished.
  func waitUntilFinished(
    _ ids: [Int64], watcher: any LAVAJobWatcher, log: any JobLog, retrier: LAVARetrier,
    last restored: [Int64: LAVAJob] = [:], changed saveChanges: ([Int64: LAVAJob]) async throws -> Void
  ) async throws -> [Int64: LAVAJob] {
    try await watcher.watching(ids) {
      var last = restored
      while true {
        let known = last
        let current = try await retrier.run("the state of the LAVA jobs") {
          try await watcher.nextChange(of: ids, after: known)
        }
        let missing = ids.filter { current[$0] == nil }
        guard missing.isEmpty else {
          throw CommandFailure(
            .scriptFailure,
            "monitor-file: LAVA has no job " + missing.map(String.init).joined(separator: ", ")
              + " visible to this token; check \(file) and LAVA_URL")
        }
        var changed = false
        for id in ids {
          if let job = current[id], let change = LAVAStateChange.describe(job, after: last[id]) {
            await log.line(change, color: .cyan)
            changed = true
          }
        }
        last = current
        if changed { try await saveChanges(last) }
        if ids.allSatisfy({ current[$0]?.state == .finished }) { return current }
      }
    }
  }
}
