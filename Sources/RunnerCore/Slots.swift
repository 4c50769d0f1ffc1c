import Protocols
import Synchronization

/// A counting semaphore for tasks: at most `count` holders at once.
package final class Slots: Sendable {
  private struct State {
    var free: Int
    var waiters: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    var nextWaiter = 0
  }

  private let state: Mutex<State>

  package init(_ count: Int) {
    state = Mutex(State(free: count))
  }

  package var free: Int { state.withLock { $0.free } }

  /// Takes a slot, waiting for one; false when the waiting task is cancelled first.
  package func acquire() async -> Bool {
    let id = state.withLock { state in
      defer { state.nextWaiter += 1 }
      return state.nextWaiter
    }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        let immediate: Bool? = state.withLock { state in
          if Task.isCancelled { return false }
          if state.free > 0 {
            state.free -= 1
            return true
          }
          state.waiters.append((id, continuation))
          return nil
        }
        if let immediate { continuation.resume(returning: immediate) }
      }
    } onCancel: {
      let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
        guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return state.waiters.remove(at: index).continuation
      }
      waiter?.resume(returning: false)
    }
  }

  package func release() {
    let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
      if state.waiters.isEmpty {
        state.free += 1
        return nil
      }
      return state.waiters.removeFirst().continuation
    }
    next?.resume(returning: true)
  }
}
