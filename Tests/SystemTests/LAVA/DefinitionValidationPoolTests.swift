import Foundation
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// Needs the process to itself, hence a system test: it proves that validation leaves the
/// cooperative pool free, which other tests running beside it would not.
@Suite(.serialized) struct DefinitionValidationPoolTests {
  /// A valid job without a `context` (the test adds a huge one).
  static let valid =
    "job_name: smoke\ndevice_type: qemu\nvisibility: public\ntimeouts: {job: {minutes: 10}}\n"
    + "actions: [{boot: {method: qemu, timeout: {minutes: 2}}}]\n"

  /// Issue 11, finding 3: two large definitions once stopped all GitLab polling for 96 s, because
  /// they were read on the threads of the pool that runs every job. As many validations as the
  /// pool has threads are started here; another task must still get a thread meanwhile.
  @Test func validatingLargeDefinitionsLeavesThePoolToOtherJobs() async throws {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let connections = LAVAConnections(
      http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics())
    let keys = (0..<100_000).map { "  key\($0): value" }.joined(separator: "\n")
    let definition = Self.valid + "context:\n" + keys + "\n"
    let events = Events()
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<max(2, ProcessInfo.processInfo.activeProcessorCount) {
        group.addTask {
          let problems = await connections.problems(inDefinition: definition, name: "large.yaml")
          await events.add(problems.isEmpty ? "validated" : "problems: \(problems)")
        }
      }
      group.addTask {
        // Long enough for the validations to be under way, far shorter than one of them.
        try? await Task.sleep(for: .milliseconds(50))
        for _ in 0..<10 { await Task.yield() }
        await events.add("other job")
      }
    }
    let order = await events.list
    #expect(order.first == "other job")
    #expect(order.dropFirst().allSatisfy { $0 == "validated" })
  }

  private actor Events {
    var list: [String] = []
    func add(_ event: String) { list.append(event) }
  }
}
