import Foundation
import Protocols
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// The watcher against the real LAVA test server, whose LAVA_URL (nginx) serves lava-publisher's
/// event stream at /ws/ as a real install does: a state change is seen through an event, long
/// before the watcher's poll interval.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAEventStreamTests {
  struct TimedOut: Error {}

  /// LAVA 2023.01's publisher stops forwarding for good when a websocket client goes away while
  /// an event is being sent to it (earlier tests kill runners that hold the stream): start the
  /// test from a fresh one, as `scripts/lava-test-server restart-publisher` does.
  static func restartPublisher() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    // posix_spawn and waitpid, off the cooperative pool: Foundation's Process left this script
    // unreaped (a zombie) and waitUntilExit waiting for ever when called from a test's task.
    let path = root.appendingPathComponent("scripts/lava-test-server").path
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), strdup("restart-publisher"), nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    try #require(posix_spawn(&pid, path, nil, nil, argv, environ) == 0, "cannot start \(path)")
    let child = pid
    let status = try await offPool {
      var status: Int32 = 0
      while waitpid(child, &status, 0) == -1 && errno == EINTR {}
      return status
    }
    try #require(status == 0, "scripts/lava-test-server restart-publisher failed (wait status \(status))")
  }

  @Test func aJobsStateChangeIsSeenThroughAnEventWithinOneSecond() async throws {
    let server = try LAVATestServer.fromEnvironment()
    try await Self.restartPublisher()
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let connections = LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics())
    let client = try connections.client(url: server.url, token: server.token)
    // Polling every 60 s: only an event can explain a change seen within a second.
    let watcher = LAVAWatcher(
      url: client.url, events: configuration, metrics: RunnerMetrics(),
      timing: LAVAWatcher.Timing(active: .seconds(60), quietMax: .seconds(60)))
    let handle = watcher.handle(client: client, key: server.token)
    // A played-board job stays queued until a test plays its worker.
    let id = try #require(
      try await client.submit(definition: server.playedJobDefinition(name: "event stream")).first)
    await handle.register([id])
    defer { Task { await handle.unregister([id]) } }
    var known = try await handle.nextChange(of: [id], after: [:])
    let deadline = ContinuousClock.now + .seconds(20)
    while await !watcher.streamConnected {
      guard ContinuousClock.now < deadline else {
        Issue.record(
          "the event stream at \(server.url)ws/ did not connect: \(String(describing: await watcher.streamError))"
        )
        try? await client.cancel(id)
        return
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    // The round confirming the connection may still be out; let it land.
    try await Task.sleep(for: .milliseconds(500))
    known = await handle.latest(of: [id])
    try await client.cancel(id)
    let canceled = ContinuousClock.now
    while true {
      let limit = canceled + .seconds(5)
      let states = try await withThrowingTaskGroup(of: [Int64: LAVAJob]?.self) { group in
        group.addTask { [known] in try await handle.nextChange(of: [id], after: known) }
        group.addTask {
          try await Task.sleep(until: limit)
          return nil
        }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
      }
      guard let states else { throw TimedOut() }
      known = states
      if let state = states[id]?.state, state == .canceling || state == .finished { break }
    }
    let seen = ContinuousClock.now - canceled
    #expect(seen < .seconds(1), "the cancellation was seen after \(seen)")
  }
}
