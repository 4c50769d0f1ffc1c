import Foundation
import Protocols
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// `jobs/?id__in=…&state__in=…`, which the watcher's cold reads rely on, against the real LAVA
/// test server: accepted, and listing only the asked jobs that left Submitted.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAStateFilterTests {
  @Test func theStateFilterListsOnlyTheAskedJobsThatLeftSubmitted() async throws {
    let server = try LAVATestServer.fromEnvironment()
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let connections = LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics())
    let client = try connections.client(url: server.url, token: server.token)
    // Played-board jobs stay queued until a test plays the worker.
    var ids: [Int64] = []
    for name in ["state filter queued", "state filter canceled"] {
      ids += try await client.submit(definition: server.playedJobDefinition(name: name))
    }
    let (queued, canceled) = (try #require(ids.first), try #require(ids.last))
    let submitted = ids
    defer { Task { for id in submitted { try? await client.cancel(id) } } }
    try await client.cancel(canceled)
    let before = try await client.jobs(ids)
    let filtered = try await client.jobs(ids, inStates: LAVAWatcher.movedStates)
    let after = try await client.jobs(ids)
    #expect(filtered.map(\.id).contains(canceled))
    #expect(filtered.allSatisfy { $0.state != .submitted && ids.contains($0.id) })
    // Unless another test's worker took it meanwhile, the queued job is left out.
    if before.first(where: { $0.id == queued })?.state == .submitted,
      after.first(where: { $0.id == queued })?.state == .submitted
    {
      #expect(filtered.map(\.id) == [canceled])
    }
    #expect(filtered.first { $0.id == canceled } == after.first { $0.id == canceled })
  }
}
