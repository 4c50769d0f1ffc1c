import Foundation
import TestSupport
import Testing

/// The state directory's lock between real runner processes.
@Suite(.serialized) struct StateDirectoryProcessTests {
  @Test func aSecondRunnerOnAStateDirectoryInUseRefusesToStartAndOneAfterASIGKILLStarts() async throws {
    let state = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: state) }
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
      let token = "glrt-state-process-token-abcdef"
      await gitlab.addRunnerToken(token)
      let environment = [
        "GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": token, "RUNNER_NAME": "state-test",
        "RUNNER_STATE_DIR": state.path,
      ]
      let (first, firstOutput) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2"], environment: environment)
      defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
      let deadline = ContinuousClock.now + .seconds(30)
      while !(try String(contentsOf: firstOutput, encoding: .utf8)).contains("lava-runner started") {
        guard ContinuousClock.now < deadline, first.isRunning else { break }
        try await Task.sleep(for: .milliseconds(50))
      }
      let attributes = try FileManager.default.attributesOfItem(atPath: state.path)
      #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)

      let (second, secondOutput) = try BuiltRunner.start(["run"], environment: environment)
      second.waitUntilExit()
      #expect(second.terminationStatus != 0)
      let refusal = try String(contentsOf: secondOutput, encoding: .utf8)
      #expect(refusal.contains("is in use by another lava-runner process"))
      #expect(!refusal.contains(token))

      // The lock dies with its process, however it dies.
      kill(first.processIdentifier, SIGKILL)
      first.waitUntilExit()
      let (third, thirdOutput) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2"], environment: environment)
      defer { if third.isRunning { kill(third.processIdentifier, SIGKILL) } }
      while !(try String(contentsOf: thirdOutput, encoding: .utf8)).contains("lava-runner started") {
        guard ContinuousClock.now < deadline + .seconds(30), third.isRunning else { break }
        try await Task.sleep(for: .milliseconds(50))
      }
      #expect(third.isRunning)
      #expect(try String(contentsOf: thirdOutput, encoding: .utf8).contains("lava-runner started"))
      #expect(await gitlab.violations == [])
    }
  }
}
