import Foundation
import TestSupport
import Testing

/// The image's stop signal (SIGQUIT) with its listen address set, as in every container.
@Suite(.serialized) struct StopSignalTests {
  @Test func aRunnerServingHealthExitsZeroAfterSIGQUIT() async throws {
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
      let token = "glrt-stop-signal-test-token-0123"
      await gitlab.addRunnerToken(token)
      let (process, output) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2", "--listen-address", "127.0.0.1:0"],
        environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": token])
      defer { try? FileManager.default.removeItem(at: output) }
      let clock = ContinuousClock()
      let deadline = clock.now + .seconds(30)
      while clock.now < deadline, process.isRunning,
        !(try String(contentsOf: output, encoding: .utf8)).contains("serving")
      {
        try await Task.sleep(for: .milliseconds(100))
      }
      try await Task.sleep(for: .milliseconds(500))
      kill(process.processIdentifier, SIGQUIT)
      let stopDeadline = clock.now + .seconds(20)
      while process.isRunning, clock.now < stopDeadline { try await Task.sleep(for: .milliseconds(100)) }
      if process.isRunning { process.terminate() }
      process.waitUntilExit()
      let log = try String(contentsOf: output, encoding: .utf8)
      #expect(process.terminationStatus == 0, "\(log)")
      #expect(log.contains("lava-runner stopped"), "\(log)")
    }
  }

  @Test func theRunCommandsHelpNamesTheSystemIDFileVariable() throws {
    let process = Process()
    process.executableURL = BuiltRunner.url
    process.arguments = ["run", "--help"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(help.contains("--system-id-file"))
    #expect(help.contains("RUNNER_SYSTEM_ID_FILE"))
  }
}
