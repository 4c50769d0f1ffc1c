import Foundation
import Protocols
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// The process's watcher of a LAVA server's jobs against the fake LAVA: batched rounds, the
/// event stream as a wake-up, the fallback to polling and the outage policy.
@Suite struct LAVAWatcherTests {
  static let token = "watcher-token-1234"

  struct TimedOut: Error {}

  /// `body`'s value, or `TimedOut` after `limit`: a watcher that misses a change fails the test
  /// instead of hanging it.
  static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T)
    async throws
    -> T
  {
    try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        try await Task.sleep(for: limit)
        return nil
      }
      defer { group.cancelAll() }
      guard let value = try await group.next() ?? nil else { throw TimedOut() }
      return value
    }
  }

  static var direct: HTTPClientConfiguration {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    return configuration
  }

  static func timing(
    active: Duration, quietMax: Duration, reconnect: Duration = .milliseconds(100),
    absentStreamRetry: Duration = .seconds(60)
  ) -> LAVAWatcher.Timing {
    LAVAWatcher.Timing(
      active: active, quietMax: quietMax,
      retry: RetryPolicy(initial: .milliseconds(50), maximum: .milliseconds(50), jitter: 0),
      reconnect: RetryPolicy(initial: reconnect, maximum: reconnect, jitter: 0),
      absentStreamRetry: absentStreamRetry)
  }

  /// A watcher of the fake (with its event stream when `events`) and its handle for the token.
  static func withWatcher<T: Sendable>(
    events: Bool, timing: LAVAWatcher.Timing,
    _ body: (FakeLAVA, LAVAWatcher, any LAVAJobWatcher) async throws -> T
  ) async throws -> T {
    try await FakeLAVA.withRunning(token: token) { lava in
      let connections = LAVAConnections(http: try HTTPClient(configuration: direct), metrics: RunnerMetrics())
      let client = try connections.client(url: await lava.url, token: token)
      let watcher = LAVAWatcher(
        url: client.url, events: events ? direct : nil, metrics: RunnerMetrics(), timing: timing)
      let value = try await body(lava, watcher, watcher.handle(client: client, key: token))
      #expect(await lava.violations == [])
      return value
    }
  }

  static func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !(await condition()) {
      guard ContinuousClock.now < deadline else { throw TimedOut() }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  @Test func manyJobsAreReadWithOneBatchedRequestPerRoundFollowingItsPages() async throws {
    // Rounds only when a registration asks for one: every request below is counted exactly.
    try await Self.withWatcher(
      events: false, timing: Self.timing(active: .seconds(60), quietMax: .seconds(60))
    ) {
      lava, _, watcher in
      // A server that serves at most 10 jobs a page, whatever the client asks for.
      await lava.setMaxLimit(10)
      var added: [Int64] = []
      for _ in 0..<25 { added.append(await lava.addJob(FakeLAVAJob(state: "Submitted"))) }
      let ids = added
      await watcher.register(ids)
      let first = try await Self.within(.seconds(10)) { try await watcher.nextChange(of: ids, after: [:]) }
      #expect(first.count == 25)
      #expect(first.values.allSatisfy { $0.state == .submitted })
      #expect(await lava.requests(to: .jobList).count == 3)
      let late = await lava.addJob(FakeLAVAJob(state: "Running"))
      await watcher.register([late])
      let second = try await Self.within(.seconds(10)) {
        try await watcher.nextChange(of: [late], after: [:])
      }
      #expect(second[late]?.state == .running)
      // The late job alone, in one request, none per job: the 25 queued ones are read at the
      // next cold read (LAVAWatcherTierTests).
      #expect(await lava.requests(to: .jobList).count == 4)
      #expect(await lava.requests(to: .job).isEmpty)
      await watcher.unregister(ids + [late])
    }
  }

  @Test func sixtyJobsTakeOneRequestWhereLAVAWouldPageThemByFifty() async throws {
    try await Self.withWatcher(
      events: false, timing: Self.timing(active: .seconds(60), quietMax: .seconds(60))
    ) {
      lava, _, watcher in
      var added: [Int64] = []
      for _ in 0..<60 { added.append(await lava.addJob(FakeLAVAJob(state: "Submitted"))) }
      let ids = added
      await watcher.register(ids)
      let states = try await Self.within(.seconds(10)) { try await watcher.nextChange(of: ids, after: [:]) }
      #expect(states.count == 60)
      #expect(await lava.requests(to: .jobList).count == 1)
      await watcher.unregister(ids)
    }
  }

  @Test func anEventWakesTheWatcherLongBeforeItsPollInterval() async throws {
    try await Self.withWatcher(
      events: true, timing: Self.timing(active: .seconds(30), quietMax: .seconds(30))
    ) {
      lava, actor, watcher in
      let id = await lava.addJob(FakeLAVAJob(state: "Submitted"))
      await watcher.register([id])
      let queued = try await Self.within(.seconds(10)) { try await watcher.nextChange(of: [id], after: [:]) }
      try await Self.waitUntil { await actor.streamConnected }
      // The round that confirms the connection may still be out; let it land.
      try await Task.sleep(for: .milliseconds(200))
      let started = ContinuousClock.now
      await lava.update(id) {
        $0.state = "Running"
        $0.device = "qemu-01"
      }
      let running = try await Self.within(.seconds(10)) {
        try await watcher.nextChange(of: [id], after: queued)
      }
      #expect(running[id]?.state == .running)
      #expect(running[id]?.device == "qemu-01")
      #expect(ContinuousClock.now - started < .seconds(2))
      #expect(lava.events.published >= 2)
      await watcher.unregister([id])
    }
  }

  @Test func aServerWithoutAnEventStreamIsPolled() async throws {
    try await Self.withWatcher(
      events: true, timing: Self.timing(active: .milliseconds(100), quietMax: .milliseconds(300))
    ) { lava, actor, watcher in
      lava.events.mode = .absent
      let id = await lava.addJob(FakeLAVAJob(state: "Submitted"))
      await watcher.register([id])
      let queued = try await Self.within(.seconds(10)) { try await watcher.nextChange(of: [id], after: [:]) }
      await lava.update(id) { $0.state = "Running" }
      let running = try await Self.within(.seconds(10)) {
        try await watcher.nextChange(of: [id], after: queued)
      }
      #expect(running[id]?.state == .running)
      #expect(await actor.streamError as? WebSocketError == .notUpgraded(status: 404))
      #expect(await actor.streamConnected == false)
      #expect(lava.events.connections == 0)
      await watcher.unregister([id])
    }
  }

  @Test func aChangeMadeWhileTheStreamReconnectsIsStillSeen() async throws {
    // Polling alone would take 60 s: only the confirming round after the reconnection can see it.
    try await Self.withWatcher(
      events: true,
      timing: Self.timing(active: .seconds(60), quietMax: .seconds(60), reconnect: .seconds(2))
    ) { lava, actor, watcher in
      let id = await lava.addJob(FakeLAVAJob(state: "Submitted"))
      await watcher.register([id])
      let queued = try await Self.within(.seconds(10)) { try await watcher.nextChange(of: [id], after: [:]) }
      try await Self.waitUntil { await actor.streamConnected }
      // The round confirming the connection may still be out: wait for the watcher to be idle.
      var rounds = -1
      while true {
        let (done, inFlight) = (await lava.requests(to: .jobList).count, await lava.requestsInFlight)
        if done == rounds && inFlight == 0 { break }
        rounds = done
        try await Task.sleep(for: .milliseconds(300))
      }
      let idle = rounds
      lava.events.dropConnections()
      try await Self.waitUntil { await actor.streamConnected == false }
      // Wait for the round the drop started to be over (a loaded machine may start it late), so
      // that the change below, which sends no event (no client), is left to the reconnection.
      try await Self.waitUntil {
        let (done, inFlight) = (await lava.requests(to: .jobList).count, await lava.requestsInFlight)
        return done > idle && inFlight == 0
      }
      let published = lava.events.published
      await lava.update(id) { $0.state = "Running" }
      #expect(lava.events.connectedClients == 0)
      let running = try await Self.within(.seconds(10)) {
        try await watcher.nextChange(of: [id], after: queued)
      }
      #expect(running[id]?.state == .running)
      #expect(lava.events.connections == 2)
      #expect(lava.events.published == published + 1)
      await watcher.unregister([id])
    }
  }

  @Test func aFailedRoundIsThrownAndTheNextGoodRoundEndsTheOutage() async throws {
    try await Self.withWatcher(
      events: false, timing: Self.timing(active: .milliseconds(50), quietMax: .milliseconds(100))
    ) { lava, _, watcher in
      let id = await lava.addJob(FakeLAVAJob(state: "Submitted"))
      await watcher.register([id])
      let queued = try await Self.within(.seconds(10)) { try await watcher.nextChange(of: [id], after: [:]) }
      await lava.failNext(.jobList, with: 503, times: 2)
      for _ in 0..<2 {
        let error = await #expect(throws: LAVAClientError.self) {
          try await Self.within(.seconds(10)) { try await watcher.nextChange(of: [id], after: queued) }
        }
        #expect(error.map { RetryPolicy().retryability(of: $0) } == .outage(retryAfter: nil))
      }
      // Nothing changed, but LAVA answers again: the caller learns the outage is over.
      let again = try await Self.within(.seconds(10)) {
        try await watcher.nextChange(of: [id], after: queued)
      }
      #expect(again == queued)
      await watcher.unregister([id])
    }
  }

  @Test func aCancelledFollowerUnregistersAndTheLastOneStopsTheRounds() async throws {
    try await Self.withWatcher(
      events: false, timing: Self.timing(active: .milliseconds(50), quietMax: .milliseconds(50))
    ) { lava, actor, watcher in
      let id = await lava.addJob(FakeLAVAJob(state: "Submitted"))
      let follower = Task {
        try await watcher.watching([id]) {
          let first = try await watcher.nextChange(of: [id], after: [:])
          return try await watcher.nextChange(of: [id], after: first)
        }
      }
      try await Self.waitUntil { await lava.requests(to: .jobList).count >= 3 }
      follower.cancel()
      await #expect(throws: CancellationError.self) { try await follower.value }
      #expect(await actor.watchedIDs.isEmpty)
      try await Task.sleep(for: .milliseconds(100))
      let count = await lava.requests(to: .jobList).count
      try await Task.sleep(for: .milliseconds(400))
      #expect(await lava.requests(to: .jobList).count == count)
    }
  }

  @Test func lavaPublisherMessagesNameTheJobTheyConcern() {
    let job =
      #"["org.lavasoftware.testjob", "924536b2", "2026-11-30T13:40:14.198393", "admin", "{\"health\": \"Unknown\", \"state\": \"Submitted\", \"job\": 723}"]"#
    let device =
      #"["org.lavasoftware.device", "u", "t", "admin", "{\"device\": \"fake-01\", \"state\": \"Reserved\"}"]"#
    #expect(LAVAEvent(message: job) == .testJob(id: 723))
    #expect(LAVAEvent(message: job).concerns([723]))
    #expect(!LAVAEvent(message: job).concerns([724]))
    #expect(LAVAEvent(message: device) == .other)
    #expect(!LAVAEvent(message: device).concerns([723]))
    // Unreadable messages may be about anything: they wake the watcher.
    #expect(LAVAEvent(message: "not json").concerns([1]))
    #expect(LAVAEvent(message: #"["org.lavasoftware.testjob", "u", "t", "admin", "{"]"#).concerns([1]))
  }
}
