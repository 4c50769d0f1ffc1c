import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Test func linksLibcurlAndLibyaml() {
  #expect(LinkedCurl.curlVersion.contains("libcurl"))
  #expect(LinkedYAML.version.hasPrefix("0."))
}
