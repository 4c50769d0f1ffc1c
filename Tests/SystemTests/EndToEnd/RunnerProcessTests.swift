import Foundation
import TestSupport
import Testing

/// The built `lava-runner` executable, next to the test bundle.
enum BuiltRunner {
  static var url: URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("lava-runner").path),
      directory.path != "/"
    {
      directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("lava-runner")
  }

  /// Starts the runner with `arguments` and `environment` added to a clean one; output to files.
  static func start(_ arguments: [String], environment: [String: String]) throws -> (Process, output: URL) {
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    env.merge(environment) { $1 }
    process.environment = env
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("lava-runner-\(UUID()).log")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return (process, output)
  }
}

@Suite(.serialized) struct RunnerProcessTests {
  @Test func theRunnerTakesAJobFromAShellAndStopsOnSIGTERM() async throws {
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
      let token = "glrt-process-test-token-abcdef"
      await gitlab.addRunnerToken(token)
      let job = await gitlab.enqueue(FakeJob(script: ["sumbit lava-job.yaml"]))
      let (process, output) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2"],
        environment: [
          "GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": token, "RUNNER_NAME": "shell-test",
        ])
      let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(result.failureReason == "script_failure")
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("on shell-test"))
      #expect(trace.contains("unknown command 'sumbit'; did you mean 'submit'?"))
      process.terminate()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0)
      let log = try String(contentsOf: output, encoding: .utf8)
      #expect(log.contains("lava-runner started"))
      #expect(log.contains("lava-runner stopped"))
      #expect(!log.contains(token))
      #expect(!log.contains(job.token))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func aRejectedTokenStopsTheRunnerWithAClearMessage() async throws {
    try await FakeGitLab.withRunning { gitlab in
      let (process, output) = try BuiltRunner.start(
        [await gitlab.url.absoluteString, "glrt-not-a-known-token-xyz"],
        environment: ["RUNNER_CHECK_INTERVAL": "0"])
      let clock = ContinuousClock()
      let deadline = clock.now + .seconds(60)
      while process.isRunning && clock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
      if process.isRunning { process.terminate() }
      process.waitUntilExit()
      #expect(process.terminationStatus == 1)
      let log = try String(contentsOf: output, encoding: .utf8)
      #expect(log.contains("refused the runner token (403)"))
      #expect(!log.contains("glrt-not-a-known-token-xyz"))
    }
  }

  @Test func theRunCommandsHelpNamesEveryEnvironmentVariable() throws {
    let process = Process()
    process.executableURL = BuiltRunner.url
    process.arguments = ["run", "--help"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    for variable in [
      "GITLAB_URL", "GITLAB_TOKEN", "RUNNER_CONCURRENT", "RUNNER_CHECK_INTERVAL", "RUNNER_NAME",
      "RUNNER_WORK_DIR",
      "RUNNER_TLS_CA_FILE", "SSL_CERT_FILE", "RUNNER_TLS_CERT_FILE", "RUNNER_TLS_KEY_FILE",
      "RUNNER_TLS_INSECURE_SKIP_VERIFY", "RUNNER_LOG_LEVEL", "RUNNER_LOG_FORMAT", "RUNNER_LISTEN_ADDRESS",
      "RUNNER_SHUTDOWN_TIMEOUT", "RUNNER_LAVA_MAX_CONCURRENT_REQUESTS",
    ] {
      #expect(help.contains(variable), "run --help does not mention \(variable)")
    }
  }
}
