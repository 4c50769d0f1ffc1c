import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

private func monitor(_ context: RecordingJobContext, file: String = "jobs.json") async -> CommandFailure? {
  let failure = await outcome {
    try await MonitorFileCommand(file: file, polling: fastPolling).run(in: context)
  }
  expectBalancedSections(context.recordingLog.text)
  return failure
}

/// A job that is queued for `queued` polls, runs for `running` polls, then finishes.
private func job(
  queued: Int, running: Int, health: LAVAJobHealth = .complete, lines: [LAVALogLine] = targetLines(4),
  tests: [LAVATestCase] = [], device: String = "qemu-01"
) -> FakeLAVAServer.ScriptedJob {
  .init(
    steps: Array(repeating: .init(.submitted), count: queued)
      + Array(repeating: .init(.running, device: device), count: running) + [
        .init(.finished, health, device: device)
      ],
    lines: lines, testCases: tests, junit: "<testsuites/>\n")
}

@Test func monitorFileReportsEachStateChangeOfThreeJobsThatFinishInDifferentOrders() async throws {
  let fake = FakeLAVAServer(pageSize: 3)
  fake.script(101, job(queued: 3, running: 4, device: "a"))
  fake.script(102, job(queued: 1, running: 1, device: "b"))
  fake.script(103, job(queued: 2, running: 2, lines: targetLines(7), device: "c"))
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [101, 102, 103]}"#])

  #expect(await monitor(context) == nil)

  let lines = context.recordingLog.plainText.split(separator: "\n").map(String.init)
  let changes = lines.filter {
    $0.hasPrefix("LAVA job 1") && ($0.contains(" is ") || $0.contains("finished"))
  }
  #expect(
    changes == [
      "LAVA job 101 is queued (Submitted, waiting for a qemu)",
      "LAVA job 102 is queued (Submitted, waiting for a qemu)",
      "LAVA job 103 is queued (Submitted, waiting for a qemu)",
      "LAVA job 102 is running on b",
      "LAVA job 102 finished: Complete",
      "LAVA job 103 is running on c",
      "LAVA job 101 is running on a",
      "LAVA job 103 finished: Complete",
      "LAVA job 101 finished: Complete",
    ])
  for id in [101, 102, 103] {
    #expect(lines.contains("LAVA job \(id): https://lava.example.com/scheduler/job/\(id)"))
    #expect(context.offeredArtifacts["\(id)_junit.xml"] != nil)
  }
  #expect(context.renderedLAVALines.isEmpty, "monitor-file must not copy LAVA logs into the job log")
  #expect(try context.artifactText("103_log.yaml") == targetLines(7).map { $0.raw + "\n" }.joined())
  #expect(lines.contains("LAVA job 103: 7 log lines saved as 103_log.yaml"))
  let rounds = fake.requests.filter { $0.hasPrefix("jobs ") }
  #expect(!rounds.isEmpty && rounds.allSatisfy { $0 == "jobs 101,102,103" })
  #expect(!fake.requests.contains { $0.hasPrefix("job ") }, "one jobs() request a round, not one per job")
  #expect(fake.protocolMistakes.isEmpty)
}

@Test func monitorFileBlamesInfrastructureFromTheSavedLogsErrorType() async throws {
  let fake = FakeLAVAServer()
  fake.script(
    111, job(queued: 0, running: 1, health: .incomplete, lines: [lavaJobFail("Infrastructure", "no power")]))
  fake.script(112, job(queued: 0, running: 1))
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [111, 112]}"#])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .runnerSystemFailure)
  #expect(failure.message.contains("LAVA Infrastructure error") && failure.message.contains("no power"))
  #expect(failure.message.contains("1 of 2 LAVA jobs failed"))
}

@Test func monitorFileFallsBackToTheFailureCommentAndListsFailedTests() async throws {
  let fake = FakeLAVAServer()
  var incomplete = job(queued: 0, running: 1, health: .incomplete, lines: targetLines(1))
  incomplete.failureComment = "lost the device"
  fake.script(121, incomplete)
  fake.script(
    122, job(queued: 0, running: 1, tests: [LAVATestCase(suite: "1_x", name: "boot", result: "fail")]))
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [121, 122]}"#])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("ended Incomplete without an error type: lost the device"))
  #expect(failure.message.contains("✘ 1_x/boot: fail"))
  let summary = context.recordingLog.plainText
  #expect(summary.contains("121       qemu-01  Incomplete  0"))
  #expect(summary.contains("122       qemu-01  Complete    1"))
}

@Test func monitorFileRetriesStateRequestsThatFail() async throws {
  let fake = FakeLAVAServer()
  fake.script(131, job(queued: 1, running: 1))
  let flaky = FakeLAVAServer.FakeError(.runnerSystemFailure, "connection reset")
  fake.failStates(with: [flaky, flaky])
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [131]}"#])
  #expect(await monitor(context) == nil)
  // Said at once, then once per notice interval; the job goes on.
  #expect(context.recordingLog.plainText.contains("LAVA unreachable since"))
  #expect(context.recordingLog.plainText.contains("connection reset"))
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
}

@Test func monitorFileNamesJobsLAVADoesNotKnow() async throws {
  let fake = FakeLAVAServer()
  fake.script(141, job(queued: 0, running: 1))
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [141, 999]}"#])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("LAVA has no job 999"))
}

@Test(arguments: [
  ("not json", "is not JSON"),
  ("[1, 2]", "is JSON but not an object"),
  (#"{"jobs": [1]}"#, #"has no "jobids" key (keys: jobs)"#),
  (#"{"jobids": 5}"#, #"has "jobids" that is not a list"#),
  (#"{"jobids": []}"#, "lists no job ids"),
  (#"{"jobids": [1, "2"]}"#, #"has "jobids"[1] = "2", which is not an integer job id"#),
  (#"{"jobids": [1.5]}"#, #"has "jobids"[0] = 1.5, which is not an integer job id"#),
  (#"{"jobids": [true]}"#, #"has "jobids"[0] = true, which is not an integer job id"#),
  (#"{"jobids": [null]}"#, #"has "jobids"[0] = null, which is not an integer job id"#),
  (#"{"jobids": [[1]]}"#, #"has "jobids"[0] = a list or an object"#),
  (#"{"jobids": [0]}"#, #"has "jobids"[0] = 0; LAVA job ids are positive"#),
  (#"{"jobids": [3, -4]}"#, #"has "jobids"[1] = -4; LAVA job ids are positive"#),
  (#"{"jobids": [7, 8, 7]}"#, #"lists job 7 twice ("jobids"[0] and [2])"#),
])
func aMalformedJobsFileIsAPreciseScriptFailure(content: String, problem: String) async throws {
  let fake = FakeLAVAServer()
  let context = try lavaContext(fake, files: ["jobs.json": content])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("monitor-file: jobs.json " + problem), "\(failure.message)")
  #expect(fake.requests.isEmpty)
}

@Test func theMonitorFilesAliasRunsTheSameCommand() async throws {
  #expect(MonitorFileCommand.metadata.aliases == ["monitor-files"])
  let parsed = try MonitorFileCommand.parse(["jobs.json"])
  #expect(parsed.file == "jobs.json")
  let fake = FakeLAVAServer()
  fake.script(151, job(queued: 0, running: 1))
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": [151]}"#])
  var command = parsed
  command.polling = fastPolling
  #expect(await outcome { try await command.run(in: context) } == nil)
}

@Test(arguments: LAVAJobState.allCases)
func everyStateChangeIsDescribed(state: LAVAJobState) {
  let job = LAVAJob(
    id: 5, state: state, health: state == .finished ? .complete : .unknown, deviceType: "rpi4",
    device: "rpi4-01")
  let text = LAVAStateChange.describe(job, after: nil)
  #expect(text?.hasPrefix("LAVA job 5 ") == true)
  #expect(LAVAStateChange.describe(job, after: job) == nil)
}

@Test(arguments: LAVAJobHealth.allCases)
func everyHealthHasAVerdict(health: LAVAJobHealth) {
  let report = LAVAJobReport(
    job: LAVAJob(id: 6, state: .finished, health: health), url: URL(string: "https://l/scheduler/job/6")!,
    error: LAVAJobError(), failedTests: [], testCasesUnavailable: nil)
  let failure = LAVAVerdict.failure(of: report, ignoreTestFailures: false)
  switch health {
  case .complete: #expect(failure == nil)
  case .incomplete, .canceled: #expect(failure?.failureReason == .scriptFailure)
  case .unknown: #expect(failure?.failureReason == .runnerSystemFailure)
  }
  #expect(failure == nil || failure!.message.contains("https://l/scheduler/job/6"))
}

@Test func aJobsFileLargerThanOneMiBIsRefusedBeforeItIsRead() async throws {
  let fake = FakeLAVAServer()
  let huge = #"{"jobids": [1], "padding": ""# + String(repeating: "x", count: 1 << 20) + #""}"#
  let context = try lavaContext(fake, files: ["jobs.json": huge])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("monitor-file: jobs.json is larger than 1 MiB"))
  #expect(fake.requests.isEmpty)
}

@Test func aJobsFileListingMoreThanTenThousandIdsIsRefused() async throws {
  let fake = FakeLAVAServer()
  let ids = (1...10_001).map(String.init).joined(separator: ",")
  let context = try lavaContext(fake, files: ["jobs.json": #"{"jobids": ["# + ids + "]}"])
  let failure = try #require(await monitor(context))
  #expect(failure.failureReason == .scriptFailure)
  #expect(failure.message.contains("lists 10001 job ids, more than the 10000 one job may wait for"))
}
