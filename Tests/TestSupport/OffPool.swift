import Foundation

/// `body`'s value, computed on a thread of its own. Blocking work (a child process run to its
/// end, a pipe read to EOF) must not hold a thread of Swift's cooperative pool: the pool has
/// one thread per core, so on a 2-core machine two such tests stall every other test's tasks
/// (websocket consumers, watcher rounds) for as long as the child runs.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    let thread = Thread { continuation.resume(with: Result { try body() }) }
    thread.name = "lava-runner test blocking call"
    thread.start()
  }
}
