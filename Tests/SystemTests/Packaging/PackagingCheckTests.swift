import Foundation
import Testing

/// `scripts/check-packaging` run as the test suite runs it: hadolint on the Dockerfile, the
/// binary's shared libraries against the runtime stage, helm lint, yamllint and value paths on
/// the chart.
/// The first run installs the linters from PyPI into .build/tools/venv and builds a
/// static-stdlib lava-runner into .build/packaging-debug: minutes, not seconds.
@Suite(.serialized) struct PackagingCheckTests {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// Runs the check with `environment` added; its output, stdout and stderr interleaved.
  static func check(environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = root.appendingPathComponent("scripts/check-packaging")
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "check-packaging-\(UUID()).log")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: output) }
    let handle = try FileHandle(forWritingTo: output)
    defer { try? handle.close() }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
  }

  @Test func theDockerfileAndTheChartPassTheirLintsAndTheRuntimeStageProvidesEveryLibrary() throws {
    let result = try Self.check()
    #expect(result.status == 0, "scripts/check-packaging failed:\n\(result.output)")
    #expect(result.output.contains("libcurl.so.4"), "the library check listed no libcurl:\n\(result.output)")
  }

  /// A copy of the Dockerfile without libyaml, a template with a misspelt value and a list
  /// indented wrongly in a branch that only optional values render, and the test build of
  /// lava-runner (Swift runtime linked dynamically): each one must fail the check.
  @Test func theCheckFailsOnAMissingPackageAMisspeltValueAndADynamicSwiftRuntime() throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("packaging-\(UUID())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

    let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
    let runtimeInstall = "ca-certificates libcurl4 libyaml-0-2 zlib1g"
    #expect(dockerfile.contains(runtimeInstall), "the runtime install line changed: update this test")
    let withoutYAML = dockerfile.replacingOccurrences(
      of: runtimeInstall, with: "ca-certificates libcurl4 zlib1g")
    try withoutYAML.write(to: scratch.appendingPathComponent("Dockerfile"), atomically: true, encoding: .utf8)

    let chart = scratch.appendingPathComponent("chart")
    try FileManager.default.copyItem(at: Self.root.appendingPathComponent("chart"), to: chart)
    let deployment = chart.appendingPathComponent("templates/deployment.yaml")
    let template = try String(contentsOf: deployment, encoding: .utf8)
    let extraVolumes = "with .Values.extraVolumes }}\n        {{- toYaml . | nindent 8 }}"
    #expect(template.contains(".Values.runner.logLevel"))
    #expect(template.contains(extraVolumes), "the extraVolumes block changed: update this test")
    try template.replacingOccurrences(of: ".Values.runner.logLevel", with: ".Values.runner.logLevle")
      .replacingOccurrences(of: extraVolumes, with: extraVolumes.replacingOccurrences(of: "8", with: "6"))
      .write(to: deployment, atomically: true, encoding: .utf8)

    let result = try Self.check(environment: [
      "PACKAGING_DOCKERFILE": scratch.appendingPathComponent("Dockerfile").path,
      "PACKAGING_CHART": chart.path,
      "LAVA_RUNNER_BINARY": BuiltRunner.url.path,
    ])
    #expect(result.status != 0)
    #expect(result.output.contains("libswiftCore.so"), "\(result.output)")
    #expect(result.output.contains("name libyaml-0-2 in the runtime apt-get install"), "\(result.output)")
    #expect(result.output.contains(".Values.runner.logLevle"), "\(result.output)")
    #expect(result.output.contains("everything: ERROR in templates/deployment.yaml"), "\(result.output)")
    #expect(!result.output.contains("minimal: ERROR"), "\(result.output)")
  }
}

/// The chart rendered by helm and validated (scripts/check-chart.py, through
/// `PACKAGING_ONLY=chart scripts/check-packaging`), against broken copies of it.
@Suite(.serialized) struct ChartRenderTests {
  /// A copy of the chart with `edit` applied to one template; the check's status and output.
  static func check(template: String, _ edit: (String) -> String) throws -> (status: Int32, output: String) {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chart-\(UUID())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    let chart = scratch.appendingPathComponent("chart")
    try FileManager.default.copyItem(at: PackagingCheckTests.root.appendingPathComponent("chart"), to: chart)
    let file = chart.appendingPathComponent("templates/\(template)")
    let text = try String(contentsOf: file, encoding: .utf8)
    let edited = edit(text)
    #expect(edited != text, "the edit of \(template) changed nothing: update this test")
    try edited.write(to: file, atomically: true, encoding: .utf8)
    return try PackagingCheckTests.check(environment: [
      "PACKAGING_CHART": chart.path, "PACKAGING_ONLY": "chart",
    ])
  }

  @Test func theChartRendersAndValidatesWithDefaultAndEveryOptionalValue() throws {
    let result = try PackagingCheckTests.check(environment: ["PACKAGING_ONLY": "chart"])
    #expect(result.status == 0, "\(result.output)")
    #expect(
      result.output.contains(
        "defaults: rendered Secret/lava-runner, Service/lava-runner, Deployment/lava-runner"))
    #expect(
      result.output.contains(
        "everything: rendered Service/lava-runner, Deployment/lava-runner, ServiceMonitor/lava-runner"))
  }

  @Test func aTemplateThatDoesNotParseFailsTheCheck() throws {
    let result = try Self.check(template: "service.yaml") {
      $0.replacingOccurrences(of: "{{- end }}", with: "")
    }
    #expect(result.status != 0)
    #expect(result.output.contains("helm cannot render the chart"), "\(result.output)")
    #expect(result.output.contains("templates/service.yaml"), "\(result.output)")
  }

  @Test func aSchemaErrorOrTheTokenOutsideTheSecretFailsTheCheck() throws {
    let result = try Self.check(template: "deployment.yaml") {
      $0.replacingOccurrences(
        of: "containerPort: {{ .Values.metrics.port }}", with: "containerPort: \"{{ .Values.metrics.port }}\""
      )
      .replacingOccurrences(
        of: "checksum/secret:", with: "token: {{ .Values.gitlab.token | quote }}\n        checksum/secret:")
    }
    #expect(result.status != 0)
    #expect(
      result.output.contains(
        "Deployment/lava-runner does not validate against Kubernetes 1.37.0 at "
          + "spec/template/spec/containers/0/ports/0/containerPort: '9252' is not of type 'integer'"),
      "\(result.output)")
    #expect(
      result.output.contains("defaults: the token is in the Deployment lava-runner"), "\(result.output)")
  }
}
