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
}
