import Foundation
import Protocols

extension LAVARetrier {
  /// The states of `ids` once `watcher` sees them differ from `known` (outages waited out as
  /// for any LAVA request, named `what`); nil when `within` passes first.
  func change(
    of ids: [Int64], after known: [Int64: LAVAJob], on watcher: any LAVAJobWatcher, what: String,
    within: Duration?
  ) async throws -> [Int64: LAVAJob]? {
    let retrier = self
    let ask: @Sendable () async throws -> [Int64: LAVAJob]? = {
      try await retrier.run(what) { try await watcher.nextChange(of: ids, after: known) }
    }
    guard let within else { return try await ask() }
    return try await withThrowingTaskGroup(of: [Int64: LAVAJob]?.self) { group in
      group.addTask { try await ask() }
      group.addTask {
        try await Task.sleep(for: within)
        return nil
      }
      defer { group.cancelAll() }
      return try await group.next() ?? nil
    }
  }
}
