import Protocols
import Synchronization

/// How a running job is told to stop: GitLab cancelling it, the timeout, a runner shutdown.
/// The first request wins; later ones are ignored.
final class JobControl: Sendable {
  private struct State {
    var cancellation: JobCancellation?
    var waiters: [Int: CheckedContinuation<JobCancellation?, Never>] = [:]
    var nextWaiter = 0
  }

  private let state = Mutex(State())

  init() {}

  var cancellation: JobCancellation? { state.withLock { $0.cancellation } }

  /// Asks the job to stop. Returns whether this was the first request.
  @discardableResult
  func cancel(_ reason: JobCancellation) -> Bool {
    let waiters: [CheckedContinuation<JobCancellation?, Never>]? = state.withLock { state in
      guard state.cancellation == nil else { return nil }
      state.cancellation = reason
      defer { state.waiters = [:] }
      return Array(state.waiters.values)
    }
    guard let waiters else { return false }
    for waiter in waiters { waiter.resume(returning: reason) }
    return true
  }

  /// Waits until the job is asked to stop; `nil` when the waiting task is cancelled first.
  func waitForCancellation() async -> JobCancellation? {
    let id = state.withLock { state in
      defer { state.nextWaiter += 1 }
      return state.nextWaiter
    }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<JobCancellation?, Never>) in
        let immediate: JobCancellation?? = state.withLock { state in
          if let cancellation = state.cancellation { return .some(cancellation) }
          if Task.isCancelled { return .some(nil) }
          state.waiters[id] = continuation
          return .none
        }
        if let immediate { continuation.resume(returning: immediate) }
      }
    } onCancel: {
      state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
    }
  }
}
