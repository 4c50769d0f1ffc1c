import Foundation
import HTTP
import Protocols
import RunnerCore

/// One LAVA server's jobs as the whole process follows them (see ``LAVAJobWatcher``): rounds of
/// batched `jobs/?id__in=…` requests (one per token, paged), woken early by LAVA's event stream
/// when it is there.
///
/// Ids come in two tiers (``Viewer/tiers(named:)``), as LAVA serialises every job it lists with
/// its whole definition: *hot* ids (never read, last seen in a state other than Submitted, or
/// named by an event since the last round) are asked every round; *cold* ids (last seen
/// Submitted) only at a cold read, with `state__in=` the states after Submitted, so that LAVA
/// lists only the jobs that moved. A cold read comes `quietMax` after the last one, at every
/// (re)connection or drop of the stream, after an event that names no job, and on every round
/// that follows a quiet pause; every ``unfilteredColdReadEvery``th is unfiltered, so that a job
/// deleted or hidden from the token is still noticed.
///
/// Pauses between rounds: ``Timing/active`` while a job runs or has just changed; while all are
/// queued, `quietMax` when the event stream is up (events wake the watcher), else doubling up
/// to it; the retry policy's backoff after a failed round. Every (re)connection of
/// the stream starts a round, so a change made while it was down is read then.
package actor LAVAWatcher {
  package struct Timing: Sendable {
    package var active: Duration
    package var quietMax: Duration
    /// Pauses after failed rounds.
    package var retry: RetryPolicy
    /// Pauses before reconnecting a stream that dropped or could not connect.
    package var reconnect: RetryPolicy
    /// The least pause before asking again a server that has no stream (404, no upgrade).
    package var absentStreamRetry: Duration
    package var webSocket: WebSocketConnection.Options

    package init(
      active: Duration = .seconds(1), quietMax: Duration = .seconds(15),
      retry: RetryPolicy = RetryPolicy(initial: .seconds(1), maximum: .seconds(15)),
      reconnect: RetryPolicy = RetryPolicy(initial: .seconds(1), maximum: .seconds(60)),
      absentStreamRetry: Duration = .seconds(300),
      webSocket: WebSocketConnection.Options = WebSocketConnection.Options()
    ) {
      self.active = active
      self.quietMax = quietMax
      self.retry = retry
      self.reconnect = reconnect
      self.absentStreamRetry = absentStreamRetry
      self.webSocket = webSocket
    }
  }

  /// What one token sees of the server.
  private struct Viewer {
    var client: any LAVAServer
    var counts: [Int64: Int] = [:]
    var states: [Int64: LAVAJob] = [:]
    /// Ids a successful round has asked for (listed or not).
    var read: Set<Int64> = []
    /// The last round's error for this viewer, nil after a success.
    var failure: (any Error)?
    var previousFailed = false

    /// The registered ids, hot and cold (see ``LAVAWatcher``), each in id order.
    func tiers(named: Set<Int64>) -> (hot: [Int64], cold: [Int64]) {
      var hot: [Int64] = []
      var cold: [Int64] = []
      for id in counts.keys.sorted() {
        if read.contains(id), states[id]?.state == .submitted, !named.contains(id) {
          cold.append(id)
        } else {
          hot.append(id)
        }
      }
      return (hot, cold)
    }
  }

  /// Every how many cold reads one is unfiltered: about every 150 s at the default `quietMax`.
  package static let unfilteredColdReadEvery = 10
  /// What a filtered cold read asks for: the states a job leaves Submitted for.
  static let movedStates = Set(LAVAJobState.allCases).subtracting([.submitted])

  package let url: URL
  private let events: HTTPClientConfiguration?
  private let metrics: RunnerMetrics
  private let timing: Timing
  private var viewers: [String: Viewer] = [:]
  private var rounds = 0
  private var roundWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]
  private var loop: Task<Void, Never>?
  private var stream: Task<Void, Never>?
  private var sleeper: (id: UUID, continuation: CheckedContinuation<Void, Never>)?
  private var pendingWake = false
  /// Ids events named since the last round began: hot for the next one.
  private var eventNamed: Set<Int64> = []
  /// The next round reads the cold ids whatever the time.
  private var coldDue = false
  /// When the next round reads the cold ids at the latest; nil before the first.
  private var nextColdRead: ContinuousClock.Instant?
  private var coldReads = 0
  /// Streams up now: one, or briefly two while a stopped one winds down as a new one starts.
  private var streamsUp = 0
  package var streamConnected: Bool { streamsUp > 0 }
  /// The stream's last error, for tests and the runner's log.
  package private(set) var streamError: (any Error)?

  /// - Parameter events: the HTTP settings the event stream connects with; nil for no stream.
  package init(url: URL, events: HTTPClientConfiguration?, metrics: RunnerMetrics, timing: Timing = Timing())
  {
    self.url = url
    self.events = events
    self.metrics = metrics
    self.timing = timing
  }

  /// The watcher as one token's commands use it.
  package nonisolated func handle(client: any LAVAServer, key: String) -> any LAVAJobWatcher {
    Handle(watcher: self, key: key, client: client)
  }

  private struct Handle: LAVAJobWatcher {
    let watcher: LAVAWatcher
    let key: String
    let client: any LAVAServer

    func register(_ ids: [Int64]) async { await watcher.register(ids, key: key, client: client) }
    func unregister(_ ids: [Int64]) async { await watcher.unregister(ids, key: key) }
    func nextChange(of ids: [Int64], after known: [Int64: LAVAJob]) async throws -> [Int64: LAVAJob] {
      try await watcher.nextChange(of: ids, after: known, key: key)
    }
    func latest(of ids: [Int64]) async -> [Int64: LAVAJob] { await watcher.latest(of: ids, key: key) }
  }

  /// Every id registered, whatever the token.
  package var watchedIDs: Set<Int64> {
    viewers.values.reduce(into: Set<Int64>()) { $0.formUnion($1.counts.keys) }
  }

  package func register(_ ids: [Int64], key: String, client: any LAVAServer) {
    var viewer = viewers[key] ?? Viewer(client: client)
    var added = false
    for id in ids {
      viewer.counts[id, default: 0] += 1
      added = added || viewer.counts[id] == 1
    }
    viewers[key] = viewer
    if loop == nil {
      loop = Task { await self.run() }
      if let events { stream = Task { await self.follow(events) } }
    } else if added {
      wake()
    }
  }

  package func unregister(_ ids: [Int64], key: String) {
    guard var viewer = viewers[key] else { return }
    for id in ids {
      guard let count = viewer.counts[id] else { continue }
      if count > 1 {
        viewer.counts[id] = count - 1
      } else {
        viewer.counts[id] = nil
        viewer.states[id] = nil
        viewer.read.remove(id)
      }
    }
    viewers[key] = viewer.counts.isEmpty ? nil : viewer
    if viewers.isEmpty {
      // Nothing left to watch: no request and no stream until the next registration.
      loop?.cancel()
      stream?.cancel()
      loop = nil
      stream = nil
      wake()
    }
  }

  package func latest(of ids: [Int64], key: String) -> [Int64: LAVAJob] {
    guard let viewer = viewers[key] else { return [:] }
    return viewer.states.filter { ids.contains($0.key) }
  }

  package func nextChange(of ids: [Int64], after known: [Int64: LAVAJob], key: String) async throws
    -> [Int64: LAVAJob]
  {
    while true {
      try Task.checkCancellation()
      if let viewer = viewers[key], ids.allSatisfy({ viewer.read.contains($0) }) {
        let current = viewer.states.filter { ids.contains($0.key) }
        if known.isEmpty || current != known { return current }
      }
      await nextRound()
      try Task.checkCancellation()
      guard let viewer = viewers[key] else { continue }
      if let failure = viewer.failure { throw failure }
      if viewer.previousFailed, ids.allSatisfy({ viewer.read.contains($0) }) {
        return viewer.states.filter { ids.contains($0.key) }
      }
    }
  }

  /// Waits for the end of the next round, or for the calling task's cancellation.
  private func nextRound() async {
    let id = UUID()
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        if Task.isCancelled {
          continuation.resume()
        } else {
          roundWaiters[id] = continuation
        }
      }
    } onCancel: {
      Task { await self.endWait(id) }
    }
  }

  private func endWait(_ id: UUID) {
    roundWaiters.removeValue(forKey: id)?.resume()
  }

  // MARK: rounds

  private func run() async {
    var pause = timing.active
    var failures = 0
    while !Task.isCancelled, !viewers.isEmpty {
      let began = ContinuousClock.now
      let cold = coldDue || nextColdRead.map { began >= $0 } ?? true
      coldDue = false
      let named = eventNamed
      eventNamed = []
      var unfilteredCold = false
      if cold {
        coldReads += 1
        unfilteredCold = coldReads % Self.unfilteredColdReadEvery == 0
      }
      var changed = false
      var running = false
      var retryAfter: Duration?
      var failed = false
      var coldFailed = false
      for key in viewers.keys.sorted() {
        guard let viewer = viewers[key] else { continue }
        let tiers = viewer.tiers(named: named)
        var reads: [(ids: [Int64], filtered: Bool)] = []
        if cold, unfilteredCold {
          reads = [((tiers.hot + tiers.cold).sorted(), false)]
        } else {
          if !tiers.hot.isEmpty { reads.append((tiers.hot, false)) }
          if cold, !tiers.cold.isEmpty { reads.append((tiers.cold, true)) }
        }
        var failure: (any Error)?
        for read in reads {
          let result: Result<[LAVAJob], any Error>
          do {
            result = .success(
              read.filtered
                ? try await viewer.client.jobs(read.ids, inStates: Self.movedStates)
                : try await viewer.client.jobs(read.ids))
          } catch {
            result = .failure(error)
          }
          metrics.lavaWatcherBatch()
          // Registrations may have changed while the request was out.
          guard var current = viewers[key] else { break }
          switch result {
          case .success(let jobs):
            let listed = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for id in read.ids where current.counts[id] != nil {
              // A filtered read leaves out the jobs still Submitted: they keep their state.
              if read.filtered, listed[id] == nil { continue }
              if current.states[id] != listed[id] { changed = true }
              current.states[id] = listed[id]
              current.read.insert(id)
            }
            viewers[key] = current
          case .failure(let error):
            failure = error
          }
          if failure != nil { break }
        }
        guard var current = viewers[key] else { continue }
        current.previousFailed = current.failure != nil
        if let failure {
          current.failure = failure
          failed = true
          coldFailed = coldFailed || (cold && !tiers.cold.isEmpty)
          if case .outage(let after) = timing.retry.retryability(of: failure) {
            retryAfter = after ?? retryAfter
          }
        } else if !reads.isEmpty {
          current.failure = nil
        }
        running =
          running
          || current.states.values.contains { [.running, .canceling].contains($0.state) }
        viewers[key] = current
      }
      if cold {
        if coldFailed {
          // Read again, of the same kind, after the retry pause.
          coldDue = true
          coldReads -= 1
        } else {
          // From the read's end: a LAVA slow to answer is asked less often, not more.
          nextColdRead = ContinuousClock.now + timing.quietMax
        }
      }
      rounds += 1
      let waiters = roundWaiters
      roundWaiters = [:]
      for waiter in waiters.values { waiter.resume() }
      if failed {
        failures += 1
        pause = timing.retry.delay(attempt: failures, retryAfter: retryAfter)
      } else {
        failures = 0
        if changed || running {
          // Running jobs are asked about at the active rate even with the stream up: a stream
          // that is up but silent (a stuck proxy or publisher) must not hide a job's end.
          pause = timing.active
        } else {
          pause = streamConnected ? timing.quietMax : min(pause * 2, timing.quietMax)
          // Nothing is moving: the round after this pause reads every job, as before tiers.
          let quietEnd = ContinuousClock.now + pause
          nextColdRead = min(nextColdRead ?? quietEnd, quietEnd)
        }
      }
      await sleep(pause)
    }
  }

  /// Sleeps `pause`, or less when woken by an event, a new registration or the stream's state.
  private func sleep(_ pause: Duration) async {
    if pendingWake {
      pendingWake = false
      return
    }
    let id = UUID()
    let timer = Task {
      try? await Task.sleep(for: pause)
      self.fire(id)
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        if Task.isCancelled {
          continuation.resume()
        } else {
          sleeper = (id, continuation)
        }
      }
    } onCancel: {
      Task { await self.wake() }
    }
    timer.cancel()
  }

  private func fire(_ id: UUID) {
    guard let sleeper, sleeper.id == id else { return }
    self.sleeper = nil
    sleeper.continuation.resume()
  }

  private func wake() {
    if let sleeper {
      self.sleeper = nil
      sleeper.continuation.resume()
    } else {
      pendingWake = true
    }
  }

  // MARK: the event stream

  private func follow(_ configuration: HTTPClientConfiguration) async {
    let target = URL(string: "ws/", relativeTo: url)?.absoluteURL ?? url.appendingPathComponent("ws/")
    var attempt = 0
    var up = false
    while !Task.isCancelled {
      do {
        for try await event in WebSocketConnection.events(
          url: target, configuration: configuration, options: timing.webSocket)
        {
          switch event {
          case .open:
            attempt = 0
            up = true
            connected(true)
            // Whatever changed while the stream was away is read now.
            coldDue = true
            wake()
          case .text(let message):
            metrics.lavaEventReceived()
            noticed(LAVAEvent(message: message))
          case .binary:
            metrics.lavaEventReceived()
          }
        }
        streamError = WebSocketError.connectionLost("the stream ended")
      } catch {
        streamError = error
      }
      if up {
        up = false
        connected(false)
        // Back to polling at once: the change that dropped with the stream is read now.
        coldDue = true
        wake()
      }
      guard !Task.isCancelled else { break }
      attempt += 1
      var pause = timing.reconnect.delay(attempt: attempt)
      if let error = streamError as? WebSocketError, error.streamAbsent {
        pause = max(pause, timing.absentStreamRetry)
      }
      try? await Task.sleep(for: pause)
    }
    if up { connected(false) }
  }

  /// An event about a watched job makes it hot for the next round; one naming no job makes
  /// that round read every job.
  private func noticed(_ event: LAVAEvent) {
    guard event.concerns(watchedIDs) else { return }
    if case .testJob(let id?) = event {
      eventNamed.insert(id)
    } else {
      coldDue = true
    }
    wake()
  }

  private func connected(_ up: Bool) {
    streamsUp += up ? 1 : -1
    metrics.lavaEventStream(connected: up)
  }
}
