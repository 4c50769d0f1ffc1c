import CCurl
import Foundation
import RunnerCore

/// One thread that drives every transfer of a client through a single libcurl multi handle,
/// so connections are shared and hundreds of requests cost no thread each.
///
/// Other threads never touch the multi handle or an added easy handle: they queue a command
/// and wake the loop with `curl_multi_wakeup`, the one multi call that is thread-safe.
package final class CurlMultiLoop: @unchecked Sendable {
  private enum Command {
    case add(CurlTransfer)
    case cancel(CurlTransfer)
    case resume(CurlTransfer)
  }

  private let multi: UnsafeMutableRawPointer
  private let lock = NSLock()
  private var commands: [Command] = []
  private var isStopping = false
  /// Set by the loop thread as its last act; until then, `shutdown()` callers wait here.
  private var hasStopped = false
  private var stopWaiters: [CheckedContinuation<Void, Never>] = []
  /// Loop thread only: the transfers whose handles are in the multi handle, by handle.
  private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

  package init(maxHostConnections: Int) throws {
    CurlGlobal.ensureInitialized()
    guard let multi = curl_multi_init() else {
      throw HTTPClientError.curl(code: 0, message: "libcurl could not create a multi handle", url: "-")
    }
    self.multi = multi
    _ = lr_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxHostConnections)
    // The thread holds the loop until `run()` returns; nothing else holds the thread.
    let thread = Thread { [self] in run() }
    thread.name = "lr-http-loop"  // Linux keeps 15 characters of a thread name.
    thread.start()
  }

  deinit {
    curl_multi_cleanup(multi)
  }

  /// Starts `transfer`; throws when the loop has been shut down.
  package func add(_ transfer: CurlTransfer) throws {
    try enqueue(.add(transfer), failing: transfer)
  }

  /// Removes `transfer` and ends it with `CancellationError`, if it is still running.
  package func cancel(_ transfer: CurlTransfer) {
    try? enqueue(.cancel(transfer), failing: nil)
  }

  /// Lets a transfer paused by back-pressure receive again.
  package func resume(_ transfer: CurlTransfer) {
    try? enqueue(.resume(transfer), failing: nil)
  }

  /// Tells the thread to end every pending transfer with `HTTPClientError.cancelled` and
  /// stop; returns at once.
  package func requestStop() {
    let first = lock.withLock {
      defer { isStopping = true }
      return !isStopping
    }
    if first { curl_multi_wakeup(multi) }
  }

  /// Stops the thread as `requestStop()` does and returns once it has ended every pending
  /// transfer, suspending rather than blocking the caller's thread.
  package func shutdown() async {
    requestStop()
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let done = lock.withLock {
        if !hasStopped { stopWaiters.append(continuation) }
        return hasStopped
      }
      if done { continuation.resume() }
    }
  }

  private func enqueue(_ command: Command, failing transfer: CurlTransfer?) throws {
    lock.lock()
    guard !isStopping else {
      lock.unlock()
      throw HTTPClientError.cancelled(url: transfer?.url.maskedForDisplay ?? "-")
    }
    commands.append(command)
    lock.unlock()
    curl_multi_wakeup(multi)
  }

  private func run() {
    while true {
      lock.lock()
      let pending = commands
      commands.removeAll()
      let stopping = isStopping
      lock.unlock()

      for command in pending {
        apply(command)
      }
      if stopping {
        for transfer in Array(active.values) {
          end(transfer, .failure(HTTPClientError.cancelled(url: transfer.url.maskedForDisplay)))
        }
        break
      }
      var running: Int32 = 0
      _ = curl_multi_perform(multi, &running)
      collectFinished()
      _ = curl_multi_poll(multi, nil, 0, 1000, nil)
    }
    let waiters = lock.withLock {
      hasStopped = true
      defer { stopWaiters.removeAll() }
      return stopWaiters
    }
    for waiter in waiters { waiter.resume() }
  }

  private func apply(_ command: Command) {
    switch command {
    case .add(let transfer):
      let code = curl_multi_add_handle(multi, transfer.easy)
      if code == CURLM_OK {
        active[transfer.easy] = transfer
      } else {
        let message = String(cString: curl_multi_strerror(code))
        transfer.finish(
          .failure(
            HTTPClientError.curl(
              code: Int(code.rawValue), message: message, url: transfer.url.maskedForDisplay)))
        transfer.release()
      }
    case .cancel(let transfer):
      if active[transfer.easy] === transfer {
        end(transfer, .failure(CancellationError()))
      }
    case .resume(let transfer):
      if active[transfer.easy] === transfer {
        _ = curl_easy_pause(transfer.easy, lr_pause_cont())
      }
    }
  }

  private func collectFinished() {
    var queued: Int32 = 0
    while let message = curl_multi_info_read(multi, &queued) {
      guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
        let transfer = active.removeValue(forKey: easy)
      else { continue }
      let code = message.pointee.data.result
      curl_multi_remove_handle(multi, easy)
      transfer.complete(code: code)
      transfer.release()
    }
  }

  private func end(_ transfer: CurlTransfer, _ result: Result<Void, any Error>) {
    active.removeValue(forKey: transfer.easy)
    curl_multi_remove_handle(multi, transfer.easy)
    transfer.finish(result)
    transfer.release()
  }
}
