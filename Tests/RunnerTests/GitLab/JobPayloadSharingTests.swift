import Foundation
import Testing

@testable import GitLabAPI

/// Every job of a GitLab gets the same failure reasons and token prefixes; a runner holding
/// 1000 jobs keeps them once, not once a job (issue 10).
@Suite struct JobPayloadSharingTests {
  static func job(_ id: Int, reasons: [String]) throws -> JobPayload {
    let features: [String: Any] = [
      "trace_sections": true, "token_mask_prefixes": ["glpat-", "glrt-shared-test-"],
      "failure_reasons": reasons,
    ]
    let json = try JSONSerialization.data(withJSONObject: [
      "id": id, "token": "t\(id)", "artifacts": NSNull(), "dependencies": NSNull(), "features": features,
    ])
    return try JSONDecoder().decode(JobPayload.self, from: json)
  }

  static func storage(_ list: [String]) -> UnsafeRawPointer? {
    list.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
  }

  static let reasons = (1...20).map { "a_failure_reason_long_enough_for_the_heap_\($0)" }

  @Test func jobsWithTheSameListsShareTheirStorage() throws {
    let first = try Self.job(1, reasons: Self.reasons)
    let second = try Self.job(2, reasons: Self.reasons)
    #expect(second.features.failureReasons == Self.reasons)
    #expect(Self.storage(first.features.failureReasons) == Self.storage(second.features.failureReasons))
    #expect(Self.storage(first.features.tokenMaskPrefixes) == Self.storage(second.features.tokenMaskPrefixes))
  }

  @Test func aDifferentListIsKeptAsItCame() throws {
    let other = Self.reasons.dropLast() + ["another_reason"]
    let first = try Self.job(3, reasons: Self.reasons)
    let second = try Self.job(4, reasons: Array(other))
    #expect(second.features.failureReasons == Array(other))
    #expect(first.features.failureReasons == Self.reasons)
  }
}
