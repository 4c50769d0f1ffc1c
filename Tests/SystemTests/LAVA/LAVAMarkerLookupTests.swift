import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands
@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// What a real LAVA keeps of the marker `submit` puts in `job_name` and how it finds it again
/// (issue 12): the description is the job name, and `jobs/?description__contains=` filters on
/// it. Enabled like ``LAVAServerIntegrationTests``.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAMarkerLookupTests {
  @Test func aMarkedSubmissionIsFoundByItsMarkerAndByNoOther() async throws {
    let server = try LAVATestServer.fromEnvironment()
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let client = try LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics()
    )
    .client(url: server.url, token: server.token)
    let marker = LAVAJobMarker.make()
    let definition = try #require(
      LAVAJobMarker.insert(marker, into: server.playedJobDefinition(name: "marker lookup")))
    #expect(JobDefinitionValidator().validate(definition, file: "played.yaml").isEmpty)
    #expect(try await client.jobs(describedWith: marker).isEmpty, "nothing before it is sent")

    let ids = try await client.submit(definition: definition)
    let found = try await client.jobs(describedWith: marker)
    #expect(found.map(\.id) == ids)
    #expect(found.first?.description == "marker lookup \(marker)")
    #expect(try await client.jobs(describedWith: LAVAJobMarker.make()).isEmpty)
    for id in ids { try await client.cancel(id) }
  }
}
