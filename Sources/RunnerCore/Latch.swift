import Protocols
import Synchronization

/// A value set once that tasks can wait for: the first `set` wins and wakes every waiter.
package final class Latch<Value: Sendable>: Sendable {
  private struct State {
    var value: Value?
    var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
    var nextWaiter = 0
    var observers: [@Sendable (Value) -> Void] = []
  }

  private let state = Mutex(State())

  package init() {}

  package var value: Value? { state.withLock { $0.value } }

  /// Sets the value unless one is set already; returns whether this call set it.
  @discardableResult
  package func set(_ value: Value) -> Bool {
    let woken: ([CheckedContinuation<Value?, Never>], [@Sendable (Value) -> Void])? = state.withLock {
      state in
      guard state.value == nil else { return nil }
      state.value = value
      defer {
        state.waiters = [:]
        state.observers = []
      }
      return (Array(state.waiters.values), state.observers)
    }
    guard let (waiters, observers) = woken else { return false }
    for waiter in waiters { waiter.resume(returning: value) }
    for observer in observers { observer(value) }
    return true
  }

  /// Calls `observer` with the value once it is set (at once when it is): what a waiting task
  /// would do, without a task to wait in (issue 10: every task a waiting job keeps costs memory).
  package func observe(_ observer: @escaping @Sendable (Value) -> Void) {
    let now: Value? = state.withLock { state in
      if let value = state.value { return value }
      state.observers.append(observer)
      return nil
    }
    if let now { observer(now) }
  }

  /// Waits for the value; `nil` when the waiting task is cancelled first.
  package func wait() async -> Value? {
    let id = state.withLock { state in
      defer { state.nextWaiter += 1 }
      return state.nextWaiter
    }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
        let immediate: Value?? = state.withLock { state in
          if let value = state.value { return .some(value) }
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
