import Foundation
import Protocols
import TestSupport
import Testing

@testable import LAVA

/// Finding a submission again by the marker in its `job_name` (issue 12): what a runner that died
/// while submitting asks LAVA before it submits again.
@Suite struct LAVAClientMarkerTests {
  @Test func jobsDescribedWithAMarkerAreThoseWhoseJobNameCarriesIt() async throws {
    try await LAVAClientTests.withClient { lava, client in
      await lava.setPageSize(2)
      let marker = "lava-runner-00112233aabbccdd"
      _ = try await client.submit(definition: "job_name: other\nactions: []\n")
      let mine = try await client.submit(definition: "job_name: \"smoke \(marker)\"\nactions: []\n")
      _ = try await client.submit(definition: "job_name: smoke lava-runner-00112233aabbccde\nactions: []\n")
      for _ in 0..<3 { _ = try await client.submit(definition: "job_name: x \(marker)-not\nactions: []\n") }

      let found = try await client.jobs(describedWith: marker)
      #expect(found.map(\.id).first == mine.first)
      #expect(
        found.count == 4, "a longer marker contains it too; markers are random, so none does in practice")
      #expect(found.allSatisfy { $0.description.contains(marker) })
      #expect(try await client.jobs(describedWith: "lava-runner-ffffffffffffffff").isEmpty)
      let asked = await lava.requests(to: .jobList).map(\.query)
      #expect(asked.contains { $0.contains("description__contains=\(marker)") }, "\(asked)")
    }
  }

  @Test func aMarkerThatWouldBeAnUncheckedFilterIsNotSent() async throws {
    try await LAVAClientTests.withClient { lava, client in
      await #expect(throws: LAVAClientError.self) { try await client.jobs(describedWith: "a%' OR 1=1") }
      await #expect(throws: LAVAClientError.self) { try await client.jobs(describedWith: "") }
      #expect(await lava.requests(to: .jobList).isEmpty)
    }
  }
}
