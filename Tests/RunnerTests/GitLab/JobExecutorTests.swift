import ArgumentParser
import Commands
import Foundation
import Protocols
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// A context whose cancellation is the job control's, like the runner's own.
final class ControlledContext: JobContext {
  let inner = RecordingJobContext()
  let control: JobControl
  init(control: JobControl) { self.control = control }
  var log: any JobLog { inner.log }
  var variables: JobVariables { inner.variables }
  var lava: any LAVAConnector { inner.lava }
  func mask(_ text: String) -> String { inner.mask(text) }
  func addMask(_ secret: String) async { await inner.addMask(secret) }
  func makeMasker() -> any StreamMasker { inner.makeMasker() }
  var workingDirectory: URL { inner.workingDirectory }
  func dependencyFile(at path: String) async throws -> URL { try await inner.dependencyFile(at: path) }
  func offerArtifact(named name: String, file: URL) async throws {}
  var cancellation: JobCancellation? { control.cancellation }
  var text: String { inner.recordingLog.plainText }
}

@Suite struct JobExecutorTests {
  let executor = JobExecutor(
    interpreter: ScriptInterpreter(
      registry: try! CommandRegistry(
        builtInCommands + [EchoTestCommand.self, WaitTestCommand.self, InfraFailTestCommand.self])))

  func job(script: [String], afterScript: [String] = [], timeout: Int? = nil, afterTimeout: Int? = nil)
    -> JobPayload
  {
    var steps = [JobPayload.Step(name: "script", script: script)]
    if !afterScript.isEmpty {
      steps.append(.init(name: "after_script", script: afterScript, timeout: afterTimeout, when: "always"))
    }
    return JobPayload(id: 1, token: "t", runnerInfo: .init(timeout: timeout), steps: steps)
  }

  @Test func linesRunInOrderAndTheJobSucceeds() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: ["echo-test one", "echo-test two"], afterScript: ["echo-test after"]), context: context,
      control: control)
    #expect(outcome == .success)
    #expect(
      context.text
        == "$ echo-test one\none\n$ echo-test two\ntwo\nRunning after_script\n$ echo-test after\nafter\nJob succeeded\n"
    )
  }

  @Test func theFirstFailingLineStopsTheScriptButAfterScriptStillRuns() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: ["echo-test --fail one", "echo-test never"], afterScript: ["echo-test after"]),
      context: context, control: control)
    #expect(outcome == .failed(.runnerSystemFailure))
    #expect(!context.text.contains("never"))
    #expect(context.text.contains("after\n"))
    #expect(context.text.hasSuffix("ERROR: Job failed: asked to fail\n"))
  }

  @Test func anUnknownCommandFailsWithScriptFailureAndItsMessage() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(job(script: ["sumbit x.yaml"]), context: context, control: control)
    #expect(outcome == .failed(.scriptFailure))
    #expect(context.text.contains("ERROR: Job failed: unknown command 'sumbit'; did you mean 'submit'?"))
  }

  @Test func theCommandsExitCodeAndReasonAreReported() async {
    let control = JobControl()
    let outcome = await executor.execute(
      job(script: ["infra-fail-test"]), context: ControlledContext(control: control), control: control)
    #expect(outcome == .failed(.runnerSystemFailure, exitCode: 3))
  }

  @Test func afterScriptFailureDoesNotChangeTheResult() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: ["echo-test ok"], afterScript: ["echo-test --fail x"]), context: context, control: control)
    #expect(outcome == .success)
    #expect(
      context.text.contains(
        "WARNING: after_script failed, which does not change the job's result: asked to fail"))
  }

  @Test func theJobTimeoutEndsTheCommandAsJobExecutionTimeout() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: ["wait-test", "echo-test never"], afterScript: ["echo-test after"], timeout: 1),
      context: context, control: control)
    #expect(outcome == .failed(.jobExecutionTimeout))
    #expect(context.text.contains("cleaning up after timedOut"))
    #expect(context.text.contains("after\n"))
    #expect(context.text.contains("ERROR: Job failed: execution took longer than 1s"))
    #expect(!context.text.contains("never"))
  }

  @Test func afterScriptHasItsOwnTimeout() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: ["echo-test ok"], afterScript: ["wait-test"], afterTimeout: 1), context: context,
      control: control)
    #expect(outcome == .success)
    #expect(context.text.contains("after_script did not finish within 1s"))
  }

  @Test(arguments: [
    (JobCancellation.canceledGracefully, true), (.canceledImmediately, false), (.runnerShutdown, false),
  ])
  func cancellationReachesTheCommandAndDecidesAfterScript(how: JobCancellation, afterScriptRuns: Bool) async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    async let outcome = executor.execute(
      job(script: ["wait-test"], afterScript: ["echo-test after"]), context: context, control: control)
    while !context.text.contains("$ wait-test") { try? await Task.sleep(for: .milliseconds(10)) }
    control.cancel(how)
    let result = await outcome
    #expect(result.state == .failed)
    #expect(result.failureReason == (how == .runnerShutdown ? .runnerInterrupted : .scriptFailure))
    #expect(context.text.contains("cleaning up after \(how)"))
    #expect(context.text.contains("after\n") == afterScriptRuns)
  }
}
