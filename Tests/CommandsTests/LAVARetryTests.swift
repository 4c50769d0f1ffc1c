import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

// `submit`'s attempts (issue 9, items 3 and 4): infrastructure failures are submitted again
// within LAVA_RETRIES and the GitLab job's time left, failed tests never; watchdogs cancel hung
// and forever-queued LAVA jobs.

private let definition = "job_name: retry test\nactions: []\n"

private func passing(device: String = "qemu-01") -> FakeLAVAServer.ScriptedJob {
  FakeLAVAServer.ScriptedJob(
    steps: [.init(.running, device: device, visibleLines: 1), .init(.finished, .complete, device: device)],
    lines: [.lava("info", "start: 1 boot"), lavaJobPass],
    testCases: [LAVATestCase(suite: "0_smoke", name: "boot", result: "pass")])
}

private func incomplete(_ type: String, _ message: String) -> FakeLAVAServer.ScriptedJob {
  FakeLAVAServer.ScriptedJob(
    steps: [
      .init(.running, device: "qemu-02", visibleLines: 1), .init(.finished, .incomplete, device: "qemu-02"),
    ],
    lines: [.lava("target", "U-Boot 2024.01"), lavaJobFail(type, message)],
    testCases: [LAVATestCase(suite: "lava", name: "job", result: "fail")])
}

private func attemptContext(
  _ fake: FakeLAVAServer, _ variables: [String: String] = [:], jobTimeout: Duration? = nil
) throws -> RecordingJobContext {
  try lavaContext(
    fake, files: ["lava-job.yaml": definition],
    variables: variables.sorted { $0.key < $1.key }.map { JobVariable(key: $0.key, value: $0.value) },
    jobTimeout: jobTimeout)
}

private func submit(_ context: RecordingJobContext) async -> CommandFailure? {
  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return failure
}

@Test func anInfrastructureFailureIsSubmittedAgainAndTheSecondAttemptPasses() async throws {
  let fake = FakeLAVAServer(submitting: [50])
  fake.thenSubmit([51])
  fake.script(50, incomplete("Infrastructure", "tftp server unreachable"))
  fake.script(51, passing())
  let context = try attemptContext(fake)

  #expect(await submit(context) == nil)
  #expect(fake.definitions.count == 2)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  let text = context.recordingLog.plainText
  #expect(
    text.contains("LAVA job 50 log, attempt 1 of 3") && text.contains("LAVA job 51 log, attempt 2 of 3"))
  #expect(
    text.contains(
      "LAVA job 50 (attempt 1 of 3) failed because of LAVA: LAVA job 50 ended Incomplete with error type "
        + "Infrastructure: tftp server unreachable. Submitting lava-job.yaml again as attempt 2 of 3: the "
        + "GitLab job's time left is unknown"))
  // Both attempts in the table, each with its own artifacts.
  #expect(text.contains("50        1 of 3   qemu-02  Incomplete"))
  #expect(text.contains("51        2 of 3   qemu-01  Complete"))
  for name in ["50_log.yaml", "50_junit.xml", "51_log.yaml", "51_junit.xml"] {
    #expect(context.offeredArtifacts[name] != nil, "\(name)")
  }
}

@Test(arguments: ["Infrastructure", "Bug", "Configuration"])
func everyLAVAErrorTypeTheAuthorCannotFixIsRetried(errorType: String) async throws {
  let fake = FakeLAVAServer(submitting: [52])
  fake.thenSubmit([53])
  fake.script(52, incomplete(errorType, "lab trouble"))
  fake.script(53, passing())
  #expect(await submit(try attemptContext(fake)) == nil)
  #expect(fake.definitions.count == 2)
}

@Test func aFailedTestIsNeverRetried() async throws {
  let fake = FakeLAVAServer(submitting: [54])
  fake.thenSubmit([55])
  var job = passing()
  job.testCases = [LAVATestCase(suite: "1_ltp", name: "mmap01", result: "fail")]
  fake.script(54, job)
  fake.script(55, passing())
  let context = try attemptContext(fake)

  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(fake.definitions.count == 1)
  #expect(!context.recordingLog.plainText.contains("Submitting lava-job.yaml again"))
}

@Test func anInfrastructureErrorAfterAFailedTestIsNotRetried() async throws {
  let fake = FakeLAVAServer(submitting: [56])
  fake.thenSubmit([57])
  var job = incomplete("Infrastructure", "board lost power")
  job.testCases.append(LAVATestCase(suite: "1_ltp", name: "mmap01", result: "fail"))
  fake.script(56, job)
  fake.script(57, passing())
  #expect(await submit(try attemptContext(fake)) != nil)
  #expect(fake.definitions.count == 1)
}

@Test(arguments: ["Job", "Test", "Canceled"])
func anErrorOfTheJobsOwnIsNeverRetried(errorType: String) async throws {
  let fake = FakeLAVAServer(submitting: [58])
  fake.thenSubmit([59])
  fake.script(58, incomplete(errorType, "invalid boot method"))
  fake.script(59, passing())
  let failure = try #require(await submit(try attemptContext(fake)))
  #expect(failure.failureReason == .scriptFailure)
  #expect(fake.definitions.count == 1)
}

@Test func theRetryBudgetIsRespectedAndTheJobFailsOnTheLastAttempt() async throws {
  let fake = FakeLAVAServer(submitting: [60])
  fake.thenSubmit([61])
  fake.script(60, incomplete("Infrastructure", "first"))
  fake.script(61, incomplete("Bug", "second"))
  let context = try attemptContext(fake, ["LAVA_RETRIES": "1"])

  let failure = try #require(await submit(context))
  #expect(fake.definitions.count == 2)
  #expect(failure.failureReason == .runnerSystemFailure)
  // The verdict is the last attempt's, and the message lists every attempt.
  #expect(failure.message.contains("LAVA job 61") && failure.message.contains("second"))
  #expect(failure.message.contains("attempt 1 of 2: LAVA job 60, infrastructure failure"))
  #expect(failure.message.contains("attempt 2 of 2: LAVA job 61, infrastructure failure"))
  let text = context.recordingLog.plainText
  #expect(text.contains("Not submitting again: LAVA_RETRIES=1 retries are used up"))
  #expect(text.contains("✘ Why LAVA job 61 failed (attempt 2 of 2)"))
  #expect(text.contains("attempt:          2 of 2"))
}

@Test func noRetryWhenLAVARetriesIsZero() async throws {
  let fake = FakeLAVAServer(submitting: [62])
  fake.thenSubmit([63])
  fake.script(62, incomplete("Infrastructure", "once"))
  fake.script(63, passing())
  let context = try attemptContext(fake, ["LAVA_RETRIES": "0"])
  #expect(try #require(await submit(context)).failureReason == .runnerSystemFailure)
  #expect(fake.definitions.count == 1)
  #expect(context.recordingLog.plainText.contains("Not submitting again: LAVA_RETRIES is 0"))
}

@Test func noRetryWhenTheGitLabJobsTimeLeftCannotHoldTheDefinitionsJobTimeout() async throws {
  let fake = FakeLAVAServer(submitting: [64])
  fake.thenSubmit([65])
  fake.script(64, incomplete("Infrastructure", "dhcp failed"))
  fake.script(65, passing())
  let context = try attemptContext(fake, jobTimeout: .seconds(1800))
  context.setTimeLeft(.seconds(1200))

  #expect(await submit(context) != nil)
  #expect(fake.definitions.count == 1)
  let text = context.recordingLog.plainText
  // Warned at submission, then said why there is no second attempt.
  #expect(text.contains("lets LAVA run the job for up to 30m (timeouts: job), but the GitLab job has 19m"))
  #expect(text.contains("Not submitting again: the GitLab job has 19m"))
  #expect(text.contains("less than the 30m another attempt may take (the definition's job timeout)"))
}

@Test func aRetryFitsWhenTheGitLabJobHasTimeForTheDefinitionsJobTimeout() async throws {
  let fake = FakeLAVAServer(submitting: [66])
  fake.thenSubmit([67])
  fake.script(66, incomplete("Infrastructure", "dhcp failed"))
  fake.script(67, passing())
  let context = try attemptContext(fake, jobTimeout: .seconds(600))
  context.setTimeLeft(.seconds(3600))

  #expect(await submit(context) == nil)
  #expect(fake.definitions.count == 2)
  let text = context.recordingLog.plainText
  #expect(text.contains("enough for the 10m another attempt may take (the definition's job timeout)"))
  #expect(!text.contains("lets LAVA run the job for up to"))
}

@Test func withoutAJobTimeoutTheLastAttemptsDurationIsTheEstimate() async throws {
  let fake = FakeLAVAServer(submitting: [68])
  fake.thenSubmit([69])
  fake.script(68, incomplete("Infrastructure", "dhcp failed"))
  fake.script(69, passing())
  let context = try attemptContext(fake)
  context.setTimeLeft(.seconds(3600))
  #expect(await submit(context) == nil)
  #expect(context.recordingLog.plainText.contains("another attempt may take (the last attempt's duration)"))

  // No time left at all: no attempt fits, whatever the last one took.
  let late = FakeLAVAServer(submitting: [70])
  late.thenSubmit([71])
  late.script(70, incomplete("Infrastructure", "dhcp failed"))
  late.script(71, passing())
  let lateContext = try attemptContext(late)
  lateContext.setTimeLeft(.zero)
  #expect(await submit(lateContext) != nil)
  #expect(late.definitions.count == 1)
  #expect(lateContext.recordingLog.plainText.contains("(the last attempt's duration)"))
}

@Test func aRunningJobThatGoesQuietIsCanceledAndRetried() async throws {
  let fake = FakeLAVAServer(submitting: [72])
  fake.thenSubmit([73])
  // Runs, prints one line, then nothing: the device hung.
  fake.script(
    72,
    .init(
      steps: [.init(.running, device: "qemu-03", visibleLines: 1)],
      lines: [.lava("target", "Starting kernel ..."), .lava("target", "never shown")]))
  fake.script(73, passing())
  let context = try attemptContext(fake, ["LAVA_HANG_TIMEOUT": "1"])

  let started = ContinuousClock.now
  #expect(await submit(context) == nil)
  #expect(ContinuousClock.now - started >= .seconds(1))
  #expect(fake.canceled == [72])
  #expect(fake.definitions.count == 2)
  let text = context.recordingLog.plainText
  #expect(text.contains("LAVA job 72: no new log line for "))
  #expect(text.contains("s while running (LAVA_HANG_TIMEOUT); canceling it in LAVA"))
  #expect(text.contains("LAVA job 72 printed nothing for "))
  #expect(text.contains("72        1 of 3   qemu-03  Hung (canceled)"))
  #expect(try context.artifactText("72_log.yaml")?.contains("Starting kernel") == true)
}

@Test func aHangOnTheLastAttemptFailsAsARunnerSystemFailure() async throws {
  let fake = FakeLAVAServer(submitting: [74])
  fake.script(74, .init(steps: [.init(.running, device: "qemu-03", visibleLines: 0)]))
  let context = try attemptContext(fake, ["LAVA_HANG_TIMEOUT": "1s", "LAVA_RETRIES": "0"])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("LAVA job 74 printed nothing for "))
  #expect(failure.message.contains("s while running (LAVA_HANG_TIMEOUT): the device or its worker hung"))
  #expect(fake.canceled == [74])
}

@Test func aJobStillQueuedAfterTheQueueTimeoutIsCanceledWithTheDeviceTypeFacts() async throws {
  let fake = FakeLAVAServer(submitting: [75])
  fake.thenSubmit([76])
  fake.script(75, .init(steps: [.init(.submitted)]))
  fake.script(76, passing())
  fake.setQueue(LAVADeviceTypeQueue(deviceType: "qemu", devices: 3, online: 1, idle: 0, jobsAhead: 4))
  let context = try attemptContext(fake, ["LAVA_QUEUE_TIMEOUT": "1"])

  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  // The time waited is at least the timeout; a busy machine may add a second.
  #expect(failure.message.contains("LAVA job 75 was still queued after "))
  #expect(
    failure.message.contains(
      "s (LAVA_QUEUE_TIMEOUT): device type qemu: 3 devices, 1 online (health Good or Unknown), 0 of them "
        + "idle; 4 jobs ahead in the queue"))
  #expect(fake.canceled == [75])
  // Waiting longer elsewhere would not empty the queue: not retried.
  #expect(fake.definitions.count == 1)
  #expect(fake.requests.contains("queue qemu before 75"))
}

@Test func aSubmissionThatDidNotReachLAVAIsRetried() async throws {
  let fake = FakeLAVAServer(submitting: [77])
  fake.script(77, passing())
  fake.failNextSubmissions(
    with: Array(repeating: .init(.runnerSystemFailure, "connection refused"), count: 400))
  let context = try attemptContext(fake, ["LAVA_OUTAGE_TIMEOUT": "1"])
  let task = Task { await submit(context) }
  // Once the first attempt has given up, LAVA comes back.
  try await eventually { context.recordingLog.plainText.contains("Submitting lava-job.yaml again") }
  fake.failNextSubmissions(with: [])
  fake.clearSubmissionFailures()
  #expect(await task.value == nil)
  #expect(fake.definitions.count == 1)
  #expect(
    context.recordingLog.plainText.contains(
      "The submission (attempt 1 of 3) failed because of LAVA: the submission did not reach LAVA"))
}

@Test func aSubmissionThatMayHaveReachedLAVAIsNotRetried() async throws {
  let fake = FakeLAVAServer(submitting: [78])
  fake.failSubmission(
    .init(.runnerSystemFailure, "timed out after the request was sent", retryability: .final))
  let failure = try #require(await submit(try attemptContext(fake)))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(fake.requests.filter { $0 == "submit" }.count == 1)
}

@Test(arguments: [
  ("LAVA_RETRIES", "-1", "a whole number from 0 to 10"),
  ("LAVA_RETRIES", "two", "a whole number from 0 to 10"),
  ("LAVA_RETRIES", "11", "a whole number from 0 to 10"),
  ("LAVA_HANG_TIMEOUT", "soon", "a duration such as 90s, 10m or 1h 30m"),
  ("LAVA_HANG_TIMEOUT", "0", "greater than zero"), ("LAVA_HANG_TIMEOUT", "-5m", "a duration"),
  ("LAVA_QUEUE_TIMEOUT", "forever", "a duration such as 90s, 10m or 1h 30m, or a number of seconds"),
  ("LAVA_QUEUE_TIMEOUT", "0s", "or 'none'"),
])
func aBadAttemptSettingFailsTheJobBeforeAnythingIsSubmitted(variable: String, value: String, form: String)
  async throws
{
  let fake = FakeLAVAServer(submitting: [79])
  fake.passEveryJob()
  let context = try attemptContext(fake, [variable: value])
  let failure = try #require(await submit(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("\(variable) is '\(value)'; expected"))
  #expect(failure.message.contains(form))
  #expect(fake.requests.isEmpty)
}

@Test func goodAttemptSettingsAreRead() throws {
  var problems: [String] = []
  let settings = LAVAAttemptSettings(
    variables: JobVariables([
      JobVariable(key: "LAVA_HANG_TIMEOUT", value: "1h 30m"),
      JobVariable(key: "LAVA_QUEUE_TIMEOUT", value: "90"),
      JobVariable(key: "LAVA_RETRIES", value: "0"),
    ]), mask: { $0 }, problems: &problems)
  #expect(problems.isEmpty)
  #expect(
    settings == LAVAAttemptSettings(hangTimeout: .seconds(5400), queueTimeout: .seconds(90), retries: 0))
  let defaults = LAVAAttemptSettings(variables: JobVariables([]), mask: { $0 }, problems: &problems)
  #expect(defaults == LAVAAttemptSettings(hangTimeout: .seconds(600), queueTimeout: nil, retries: 2))
}

/// A known-issue matcher as issue 9's item 8 plugs it in: one pattern, one action.
private struct OnePattern: LAVALineWatcher {
  var text: String
  var verdict: LAVALineVerdict
  func inspect(_ line: LAVALogLine, of id: Int64, action: String?, at time: ContinuousClock.Instant) async
    -> LAVALineVerdict?
  {
    line.raw.contains(text) ? verdict : nil
  }
}

private func submit(_ context: RecordingJobContext, watcher: any LAVALineWatcher) async -> CommandFailure? {
  let failure = await outcome {
    let command = SubmitCommand(file: "lava-job.yaml", polling: fastPolling)
    let session = try await LAVACommandSession.open(
      SubmitCommand.self, context: context, polling: fastPolling, defaultCancellation: .cancel)
    let attempts = LAVASubmitAttempts(
      command: command, session: session, definition: definition, watcher: watcher)
    try await attempts.conclude(try await attempts.run())
  }
  expectBalancedSections(context.recordingLog.text)
  return failure
}

@Test func aLineWatcherSayingRetryEndsTheAttemptAsAnInfrastructureFailure() async throws {
  let fake = FakeLAVAServer(submitting: [80])
  fake.thenSubmit([81])
  fake.script(
    80,
    .init(
      steps: [.init(.running, device: "qemu-04")],
      lines: [.lava("target", "mmc0: error -110 whilst initialising"), .lava("target", "still going")]))
  fake.script(81, passing())
  let context = try attemptContext(fake)
  #expect(
    await submit(context, watcher: OnePattern(text: "error -110", verdict: .retry("flaky SD card"))) == nil)
  #expect(fake.canceled == [80])
  #expect(fake.definitions.count == 2)
  #expect(
    context.recordingLog.plainText.contains(
      "LAVA job 80: flaky SD card (a known issue: retry); canceling it in LAVA"))
}

@Test func aLineWatcherSayingFailEndsTheJobNowWithoutRetry() async throws {
  let fake = FakeLAVAServer(submitting: [82])
  fake.thenSubmit([83])
  fake.script(
    82, .init(steps: [.init(.running, device: "qemu-04")], lines: [.lava("target", "Kernel panic")]))
  fake.script(83, passing())
  let context = try attemptContext(fake)
  let failure = try #require(
    await submit(context, watcher: OnePattern(text: "Kernel panic", verdict: .fail("the kernel panicked"))))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("LAVA job 82: the kernel panicked"))
  #expect(fake.canceled == [82])
  #expect(fake.definitions.count == 1)
}

// MARK: - monitor-file: the watchdogs, never a resubmission

private func monitor(_ context: RecordingJobContext, polling: LAVAPolling = fastPolling) async
  -> CommandFailure?
{
  let failure = await outcome {
    try await MonitorFileCommand(file: "jobs.json", polling: polling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return failure
}

@Test func monitorFileCancelsAJobThatGoesQuietAndFailsAsARunnerSystemFailure() async throws {
  let fake = FakeLAVAServer(pageSize: 2)
  // Job 90 prints three lines, then nothing; job 91 passes meanwhile.
  let lines = targetLines(4)
  fake.script(90, .init(steps: [.init(.running, device: "qemu-05", visibleLines: 3)], lines: lines))
  fake.script(91, passing())
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [90, 91]}"#],
    variables: [JobVariable(key: "LAVA_HANG_TIMEOUT", value: "1")])

  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("LAVA job 90 printed nothing for "))
  #expect(failure.message.contains("(LAVA_HANG_TIMEOUT): the device or its worker hung"))
  #expect(fake.canceled == [90])
  #expect(fake.definitions.isEmpty)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  // The lines the probes read and the rest (LAVA has the last once canceled) are saved once, in order.
  #expect(try context.artifactText("90_log.yaml") == lines.map { $0.raw + "\n" }.joined())
  #expect(context.recordingLog.plainText.contains("LAVA job 90: no new log line for "))
}

@Test func monitorFileKeepsWaitingForAJobWhoseLogKeepsGrowing() async throws {
  let fake = FakeLAVAServer(pageSize: 1)
  // 60 lines, one more visible at each state poll, one poll every 50 ms: a 3 s run whose log is
  // never quiet for the 1 s hang timeout, though the probes read it only every 250 ms.
  let lines = targetLines(60)
  fake.script(
    92,
    .init(
      steps: (1...60).map { .init(.running, device: "qemu-06", visibleLines: $0) }
        + [.init(.finished, .complete, device: "qemu-06")],
      lines: lines))
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [92]}"#],
    variables: [JobVariable(key: "LAVA_HANG_TIMEOUT", value: "1")])
  var polling = fastPolling
  polling.active = .milliseconds(50)
  polling.quietMax = .milliseconds(50)
  let started = ContinuousClock.now
  #expect(await monitor(context, polling: polling) == nil)
  #expect(ContinuousClock.now - started >= .seconds(2))
  #expect(fake.canceled.isEmpty)
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
  #expect(try context.artifactText("92_log.yaml") == lines.map { $0.raw + "\n" }.joined())
}

@Test func monitorFileCancelsAJobQueuedPastTheQueueTimeoutNamingTheDeviceType() async throws {
  let fake = FakeLAVAServer()
  fake.script(93, .init(steps: [.init(.submitted)]))
  fake.setQueue(LAVADeviceTypeQueue(deviceType: "qemu", devices: 1, online: 0, idle: 0, jobsAhead: 0))
  let context = try lavaContext(
    fake, files: ["jobs.json": #"{"jobids": [93]}"#],
    variables: [JobVariable(key: "LAVA_QUEUE_TIMEOUT", value: "1")])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("LAVA job 93 was still queued after "))
  #expect(
    failure.message.contains(
      "device type qemu: 1 device, 0 online (health Good or Unknown), 0 of them idle; 0 jobs ahead"))
  #expect(fake.canceled == [93])
}

@Test func aMultinodeJobThatHangsCancelsItsGroupAndTheWholeSubmissionIsRetried() async throws {
  let fake = FakeLAVAServer(submitting: [94, 95])
  fake.thenSubmit([96, 97])
  // 94 hangs; 95 keeps printing until the runner cancels it with 94: every read of it brings a
  // new line, however late the runner gets to it (a loaded machine once held it for seconds).
  fake.script(94, .init(steps: [.init(.running, device: "qemu-07", visibleLines: 1)], lines: targetLines(2)))
  var printing = FakeLAVAServer.ScriptedJob(
    steps: [.init(.running, device: "qemu-08")], lines: targetLines(100_000))
  printing.printsOnEachRead = true
  fake.script(95, printing)
  fake.script(96, passing(device: "qemu-07"))
  fake.script(97, passing(device: "qemu-08"))
  let context = try attemptContext(fake, ["LAVA_HANG_TIMEOUT": "1"])

  #expect(await submit(context) == nil)
  #expect(fake.definitions.count == 2)
  #expect(Set(fake.canceled) == [94, 95])
  let text = context.recordingLog.plainText
  #expect(
    text.contains("LAVA jobs 94, 95 logs, attempt 1 of 3")
      && text.contains("LAVA jobs 96, 97 logs, attempt 2 of 3"))
  #expect(text.contains("LAVA job 95: canceled with LAVA job 94 of the same multinode submission"))
  #expect(text.contains("94        1 of 3   qemu-07  Hung (canceled)"))
  #expect(text.contains("95        1 of 3   qemu-08  Canceled with its group"))
}
