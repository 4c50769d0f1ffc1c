import Foundation
import Protocols
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct LAVAConnectionsTests {
  @Test(arguments: [
    ("https://lava.example.com", "https://lava.example.com/"),
    ("HTTP://lava.example.com:8080/lava", "http://lava.example.com:8080/lava/"),
    ("https://lava.example.com/api/v0.2/", "https://lava.example.com/"),
    ("https://lava.example.com/RPC2", "https://lava.example.com/"),
  ])
  func serverURLIsNormalized(given: String, expected: String) throws {
    #expect(try LAVAConnections.validatedServerURL(URL(string: given)!).absoluteString == expected)
  }

  @Test(arguments: [
    ("ftp://lava.example.com/", LAVAURLError.unsupportedScheme("ftp")),
    ("lava.example.com", .unsupportedScheme("")),
    ("https:///path", .missingHost),
    ("https://user:hunter2@lava.example.com/", .credentialsInURL),
    ("https://lava.example.com/?token=abc", .queryOrFragment),
  ])
  func unusableServerURLIsRefusedNamingTheVariable(given: String, expected: LAVAURLError) {
    let error = #expect(throws: LAVAURLError.self) {
      try LAVAConnections.validatedServerURL(URL(string: given)!)
    }
    #expect(error == expected)
    #expect(error?.description.hasPrefix("LAVA_URL ") == true)
    #expect(error?.description.contains("hunter2") == false)
    #expect(error?.failureReason == .scriptFailure)
  }

  static func offlineConnections() throws -> LAVAConnections {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    return LAVAConnections(http: try HTTPClient(configuration: configuration), metrics: RunnerMetrics())
  }

  @Test func webURLOfAJobIsTheSchedulerPage() throws {
    let connections = try LAVAConnectionsTests.offlineConnections()
    let server = try connections.server(url: URL(string: "https://lava.example.com/lava")!, token: "t")
    #expect(server.webURL(of: 12).absoluteString == "https://lava.example.com/lava/scheduler/job/12")
  }
}

@Suite struct LAVAConnectionsDefinitionTests {
  static let valid = """
    job_name: smoke
    device_type: qemu
    visibility: public
    timeouts:
      job:
        minutes: 10
    actions:
      - boot:
          method: qemu
          timeout:
            minutes: 2

    """

  @Test func validDefinitionHasNoProblems() async throws {
    let problems = try await LAVAConnectionsTests.offlineConnections().problems(
      inDefinition: Self.valid, name: "job.yaml")
    #expect(problems == [])
  }

  @Test func problemsNameTheFileAndLine() async throws {
    let broken = Self.valid.replacingOccurrences(of: "device_type: qemu\n", with: "")
      .replacingOccurrences(of: "visibility: public", with: "visibility: [public")
    let problems = try await LAVAConnectionsTests.offlineConnections().problems(
      inDefinition: broken, name: "job.yaml")
    #expect(!problems.isEmpty)
    #expect(problems.allSatisfy { $0.hasPrefix("job.yaml:") })
  }

  /// Issue 11, finding 3: two large definitions once stopped all GitLab polling for 96 s, because
  /// they were read on the threads of the pool that runs every job. As many validations as the
  /// pool has threads are started here; another task must still get a thread meanwhile.
  @Test func validatingLargeDefinitionsLeavesThePoolToOtherJobs() async throws {
    let connections = try LAVAConnectionsTests.offlineConnections()
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
