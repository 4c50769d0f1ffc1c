import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// A LAVA job that runs until it is canceled.
private func endlessJob() -> FakeLAVAServer.ScriptedJob {
  .init(steps: [.init(.running, device: "qemu-01")], lines: targetLines(2))
}

/// Starts `body`, waits until the fake has been asked for `request`, then cancels the job as
/// GitLab does: the context learns why, and the command's task is cancelled.
private func cancelWhileRunning(
  _ context: RecordingJobContext, fake: FakeLAVAServer, after request: String,
  _ body: @escaping @Sendable () async throws -> Void
) async throws {
  let task = Task { try await body() }
  try await eventually { fake.requests.contains(request) }
  #expect(fake.requests.contains(request), "the command never asked for \(request)")
  context.cancel(.canceledGracefully)
  task.cancel()
  _ = await task.result
}

@Test(arguments: [nil, "cancel"])
func submitCancelsItsLAVAJobWhenTheGitLabJobIsCanceled(policy: String?) async throws {
  let fake = FakeLAVAServer(submitting: [31])
  fake.script(31, endlessJob())
  let extra = policy.map { [JobVariable(key: "LAVA_CANCELLATION", value: $0)] } ?? []
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"], variables: extra)
  try await cancelWhileRunning(context, fake: fake, after: "job 31") {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(fake.canceled == [31])
  #expect(!fake.protocolMistakes.contains { $0.hasPrefix("cancel") })
  #expect(context.recordingLog.plainText.contains("the GitLab job was canceled; canceled LAVA job 31"))
  #expect(context.offeredArtifacts["31_log.yaml"] != nil)
}

@Test func submitLeavesItsLAVAJobRunningWhenAskedTo() async throws {
  let fake = FakeLAVAServer(submitting: [32])
  fake.script(32, endlessJob())
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "x: 1\n"],
    variables: [JobVariable(key: "LAVA_CANCELLATION", value: "ignore")])
  try await cancelWhileRunning(context, fake: fake, after: "job 32") {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(fake.canceled.isEmpty)
  #expect(context.recordingLog.plainText.contains("LAVA job 32 keeps running (LAVA_CANCELLATION=ignore)"))
}

@Test(arguments: [nil, "ignore"])
func monitorFileLeavesLAVAJobsRunningByDefault(policy: String?) async throws {
  let fake = FakeLAVAServer()
  fake.script(33, endlessJob())
  fake.script(34, endlessJob())
  let extra = policy.map { [JobVariable(key: "LAVA_CANCELLATION", value: $0)] } ?? []
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [33, 34]}"#], variables: extra)
  try await cancelWhileRunning(context, fake: fake, after: "jobs 33,34") {
    try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
  }
  #expect(fake.canceled.isEmpty)
  let text = context.recordingLog.plainText
  #expect(text.contains("LAVA job 33 keeps running") && text.contains("LAVA job 34 keeps running"))
}

@Test func monitorFileCancelsLAVAJobsWhenAskedTo() async throws {
  let fake = FakeLAVAServer()
  fake.script(35, endlessJob())
  fake.script(36, endlessJob())
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [35, 36]}"#],
    variables: [JobVariable(key: "LAVA_CANCELLATION", value: "cancel")])
  try await cancelWhileRunning(context, fake: fake, after: "jobs 35,36") {
    try await MonitorFileCommand(file: "jobs.json", polling: fastPolling).run(in: context)
  }
  #expect(fake.canceled == [35, 36])
  #expect(!fake.protocolMistakes.contains { $0.hasPrefix("cancel") })
  #expect(context.recordingLog.plainText.contains("canceled LAVA job 36"))
}

@Test func aTimeoutIsNamedAsTheReasonForCanceling() async throws {
  let fake = FakeLAVAServer(submitting: [37])
  fake.script(37, endlessJob())
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  let task = Task { try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context) }
  try await eventually { fake.requests.contains("job 37") }
  context.cancel(.timedOut)
  task.cancel()
  _ = await task.result
  #expect(context.recordingLog.plainText.contains("the GitLab job timed out; canceled LAVA job 37"))
}

@Test func aServerThatDoesNotAnswerTheCancelIsGivenUpOnAndTheJobsNamed() async throws {
  let fake = FakeLAVAServer(submitting: [38])
  fake.script(38, endlessJob())
  fake.delayCancels(by: .seconds(600))
  let polling = LAVAPolling(
    active: fastPolling.active, quietMax: fastPolling.quietMax, retry: fastPolling.retry,
    outageNotice: fastPolling.outageNotice, cleanupTimeout: .milliseconds(20))
  let context = try lavaContext(fake, files: ["lava-job.yaml": "x: 1\n"])
  try await cancelWhileRunning(context, fake: fake, after: "job 38") {
    try await SubmitCommand(file: "lava-job.yaml", polling: polling).run(in: context)
  }
  let text = context.recordingLog.plainText
  #expect(
    text.contains(
      "canceling the LAVA jobs took longer than 20 ms; check them: https://lava.example.com/scheduler/job/38")
  )
  #expect(fake.canceled.isEmpty)
}
