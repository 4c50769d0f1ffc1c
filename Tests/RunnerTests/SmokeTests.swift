import Testing

@testable import Runner

@Test func linksLibcurlAndLibyaml() {
  #expect(LinkedLibraries.curlVersion.contains("libcurl"))
  #expect(LinkedLibraries.yamlVersion.hasPrefix("0."))
}
