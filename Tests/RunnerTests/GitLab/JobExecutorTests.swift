import ArgumentParser
import Commands
import Foundation
import Protocols
import Synchronization
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Ignores cancellation: waits on a timer that cancelling its task does not stop, then says so.
/// Bounded: it ends by itself after 20 s.
struct StubbornTestCommand: Command {
  static let metadata = CommandMetadata(
    name: "stubborn-test", summary: "Ignore cancellation.",
    examples: [CommandExample("stubborn-test", "Waits.")])

  static let ended = Mutex<Int>(0)

  func run(in context: any JobContext) async throws {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().asyncAfter(deadline: .now() + 20) { continuation.resume() }
    }
    Self.ended.withLock { $0 += 1 }
    await context.log.line("stubborn command ended")
  }
}

/// Takes a while to clean up once cancelled, but less than the grace period.
struct SlowCleanupTestCommand: Command {
  static let metadata = CommandMetadata(
    name: "slow-cleanup-test", summary: "Clean up slowly.",
    examples: [CommandExample("slow-cleanup-test", "Waits.")])

  func run(in context: any JobContext) async throws {
    do {
      try await Task.sleep(for: .seconds(60))
    } catch {
      // Clean-up that must not be cut short: a timer the cancelled task cannot interrupt.
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { continuation.resume() }
      }
      await context.log.line("cleaned up")
      throw error
    }
  }
}

/// Records what it is asked to deliver and fails when told to.
final class RecordingArtifactDelivery: ArtifactDelivery {
  let failure: CommandFailure?
  private let outcomes = Mutex<[JobOutcome]>([])
  init(failing failure: CommandFailure? = nil) { self.failure = failure }
  var delivered: [JobOutcome] { outcomes.withLock { $0 } }

  func deliver(after outcome: JobOutcome, log: any JobLog) async throws {
    outcomes.withLock { $0.append(outcome) }
    await log.line("delivering artifacts")
    if let failure { throw failure }
  }
}

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
        builtInCommands + [
          EchoTestCommand.self, WaitTestCommand.self, InfraFailTestCommand.self, StubbornTestCommand.self,
          SlowCleanupTestCommand.self,
        ])))

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
    #expect(context.text.hasSuffix("ERROR: Job failed (runner_system_failure): asked to fail\n"))
  }

  @Test func anUnknownCommandFailsWithScriptFailureAndItsMessage() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(job(script: ["sumbit x.yaml"]), context: context, control: control)
    #expect(outcome == .failed(.scriptFailure))
    #expect(
      context.text.contains(
        "ERROR: Job failed (script_failure): unknown command 'sumbit'; did you mean 'submit'?"))
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
    #expect(context.text.contains("ERROR: Job failed (job_execution_timeout): execution took longer than 1s"))
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

  @Test func aCommandThatIgnoresCancellationIsAbandonedAfterTheGracePeriod() async {
    var executor = executor
    executor.cancellationGracePeriod = .milliseconds(300)
    let control = JobControl()
    let context = ControlledContext(control: control)
    let endedBefore = StubbornTestCommand.ended.withLock { $0 }
    async let outcome = executor.execute(
      job(script: ["stubborn-test"]), context: context, control: control)
    for _ in 0..<1000 where !context.text.contains("$ stubborn-test") {
      try? await Task.sleep(for: .milliseconds(10))
    }
    control.cancel(.canceledGracefully)
    let result = await outcome
    // Reported while the command still runs: it would only end after 20 s.
    #expect(StubbornTestCommand.ended.withLock { $0 } == endedBefore)
    #expect(result == .failed(.scriptFailure))
    #expect(!context.text.contains("stubborn command ended"))
    #expect(
      context.text.contains(
        "WARNING: the command did not stop within 300ms of being asked to; "
          + "reporting the job without waiting for it any longer"), "\(context.text)")
    #expect(context.text.hasSuffix("ERROR: Job failed (script_failure): canceled in GitLab\n"))
  }

  @Test func aCancelledCommandIsWaitedForWithinTheGracePeriod() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    async let outcome = executor.execute(
      job(script: ["slow-cleanup-test"]), context: context, control: control)
    for _ in 0..<1000 where !context.text.contains("$ slow-cleanup-test") {
      try? await Task.sleep(for: .milliseconds(10))
    }
    control.cancel(.canceledImmediately)
    #expect(await outcome == .failed(.scriptFailure))
    #expect(context.text.hasSuffix("cleaned up\nERROR: Job failed (script_failure): canceled in GitLab\n"))
    #expect(!context.text.contains("did not stop"))
  }

  @Test func artifactsAreDeliveredAfterAfterScriptAndBeforeTheVerdict() async {
    let control = JobControl()
    let context = ControlledContext(control: control)
    let delivery = RecordingArtifactDelivery()
    let outcome = await executor.execute(
      job(script: ["echo-test ok"], afterScript: ["echo-test after"]), context: context, control: control,
      artifacts: delivery)
    #expect(outcome == .success)
    #expect(delivery.delivered == [.success])
    #expect(context.text.hasSuffix("after\ndelivering artifacts\nJob succeeded\n"), "\(context.text)")
  }

  @Test(arguments: [
    (
      "echo-test ok", JobOutcome.failed(.runnerSystemFailure, exitCode: 4),
      "the artifacts folder is read-only"
    ),
    ("infra-fail-test", .failed(.runnerSystemFailure, exitCode: 3), "the board farm is down"),
  ])
  func anArtifactDeliveryFailureFailsOnlyAJobThatSucceeded(
    line: String, expected: JobOutcome, summary: String
  )
    async
  {
    let failure = CommandFailure(.runnerSystemFailure, "the artifacts folder is read-only", exitCode: 4)
    let control = JobControl()
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: [line]), context: context, control: control,
      artifacts: RecordingArtifactDelivery(failing: failure))
    #expect(outcome == expected)
    #expect(context.text.hasSuffix("ERROR: Job failed (runner_system_failure): \(summary)\n"))
    // After a failure, the delivery's error is only a warning.
    #expect(
      context.text.contains("WARNING: the artifacts folder is read-only\n") == (line == "infra-fail-test"))
  }

  @Test func aJobCanceledBeforeItsScriptStartsRunsNoLine() async {
    let control = JobControl()
    control.cancel(.canceledImmediately)
    let context = ControlledContext(control: control)
    let outcome = await executor.execute(
      job(script: ["wait-test", "echo-test never"]), context: context, control: control)
    #expect(outcome.state != .success)
    #expect(!context.text.contains("never"))
  }
}

/// The latch the executor's step waits on instead of a task per thing it waits for.
@Suite struct LatchObserverTests {
  @Test func anObserverIsCalledOnceWithTheFirstValueSet() {
    let latch = Latch<Int>()
    let seen = Mutex<[Int]>([])
    latch.observe { value in seen.withLock { $0.append(value) } }
    #expect(seen.withLock { $0 }.isEmpty)
    #expect(latch.set(1))
    #expect(!latch.set(2))
    #expect(seen.withLock { $0 } == [1])
  }

  @Test func anObserverOfALatchAlreadySetIsCalledAtOnce() {
    let latch = Latch<String>()
    latch.set("done")
    let seen = Mutex<[String]>([])
    latch.observe { value in seen.withLock { $0.append(value) } }
    #expect(seen.withLock { $0 } == ["done"])
  }

  @Test func aJobControlTellsItsCancellationToWhoeverAsked() {
    let control = JobControl()
    let seen = Mutex<[JobCancellation]>([])
    control.whenCanceled { reason in seen.withLock { $0.append(reason) } }
    control.cancel(.canceledGracefully)
    control.cancel(.canceledImmediately)
    #expect(seen.withLock { $0 } == [.canceledGracefully])
  }
}
