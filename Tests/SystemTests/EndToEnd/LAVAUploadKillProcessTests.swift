import Foundation
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// Issue 12 end to end, the runner's death during the artifact uploads: the LAVA job (real
/// server, played worker) has finished, the first runner uploads the archive, then the fake holds
/// its JUnit report and the runner is SIGKILLed; a second runner on the same state directory
/// finishes the job. GitLab keeps one artifact per type and job: the same bytes again are a
/// success that keeps the first, other bytes are refused (`Ci::JobArtifacts::CreateService`).
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAUploadKillProcessTests {
  let resume: LAVAResumeProcessTests

  init() throws {
    resume = try LAVAResumeProcessTests()
  }

  /// The lines of `trace` that end with a newline, without the colours.
  static func lines(_ trace: String) -> [String] {
    LAVAResumeProcessTests.plain(trace).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
      .map(String.init)
  }

  @Test(arguments: [ArtifactUploadHold.beforeStoring, .afterStoring])
  func aRunnerSIGKILLedDuringAnArtifactUploadIsReplacedByOneThatUploadsWhatGitLabLacksOnceAndLogsNothingTwice(
    hold: ArtifactUploadHold
  ) async throws {
    let server = resume.server
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let state = LAVAResumeProcessTests.temporary("upload-kill-state")
    defer { try? FileManager.default.removeItem(at: state) }
    let tag = String(UUID().uuidString.prefix(8))
    let markers = LAVAResumeProcessTests.markers(0..<20, tag)
    let name = "upload-kill-\(tag.lowercased())"
    try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(LAVAResumeProcessTests.runnerToken)
        let job = await gitlab.enqueue(
          resume.playedJob(name).artifact(.dotenv(paths: ["lava.env"])))
        await gitlab.holdNextUpload(of: job.id, artifactType: "junit", hold)
        let (first, firstOutput) = try await resume.startRunner(gitlab, state: state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let id = try await resume.lavaJobID(of: job, in: gitlab)
        _ = try await worker.startNextJob(id)
        try await worker.run(id)
        try await worker.sendLog(
          id,
          markers.map { PlayedWorker.logLine($0) } + [
            PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass")
          ])
        try await worker.finish(id, result: .pass)

        // The archive is in GitLab, the JUnit report is on its way: the runner dies.
        try await gitlab.waitForHeldUpload(of: job.id, artifactType: "junit", timeout: .seconds(60))
        #expect(
          await gitlab.uploads(of: job.id).map(\.artifactType) == ["archive"]
            + (hold == .afterStoring ? ["junit"] : []))
        try await resume.waitForTrace("file(s): \(id)_junit.xml", of: job, in: gitlab)
        await resume.killHard(first, gitlab)
        try resume.stop(first, output: firstOutput)
        let before = Self.lines(await gitlab.traceText(of: job.id))

        let (second, secondOutput) = try await resume.startRunner(gitlab, state: state)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
        let raw = await gitlab.traceText(of: job.id)
        let lines = Self.lines(raw)
        let trace = lines.joined(separator: "\n")
        #expect(result.status == .success, "\(trace.suffix(3000))")
        try resume.stop(second, output: secondOutput)

        // Every artifact once and whole; only the one whose reply never came is sent again.
        let uploads = await gitlab.uploads(of: job.id)
        #expect(
          uploads.map(\.artifactType).sorted() == ["archive", "dotenv", "junit"], "\(trace.suffix(3000))")
        let archive = try #require(uploads.first { $0.artifactType == "archive" })
        let log = String(decoding: try #require(try archive.zipEntries()["\(id)_log.yaml"]), as: UTF8.self)
        #expect(LAVAResumeProcessTests.onceInOrder(markers, in: log, end: "\"").isEmpty)
        let junit = try #require(uploads.first { $0.artifactType == "junit" })
        #expect(String(decoding: try junit.gunzipped(), as: UTF8.self).contains("boot"))
        let dotenv = try #require(uploads.first { $0.artifactType == "dotenv" })
        #expect(DotenvRules.variables(try dotenv.gunzipped())["LAVA_JOB_ID"] == String(id))
        #expect(
          await gitlab.identicalReuploads.map(\.artifactType) == (hold == .afterStoring ? ["junit"] : []))

        // The log: the first runner's lines, the restart notice, then only what was left to say.
        let notice = try #require(
          lines.firstIndex { $0.contains("lava-runner restarted; it was away for") }, "\(trace.suffix(3000))")
        #expect(lines.filter { $0.contains("lava-runner restarted") }.count == 1)
        #expect(Array(lines[..<notice]) == before.prefix(notice).map { $0 }, "\(trace.suffix(3000))")
        #expect(before.count == notice, "the first runner's log goes on after the kill: \(before.suffix(5))")
        let after = Array(lines[(notice + 1)...])
        #expect(
          after == [
            "Uploaded junit report (201)", "Uploading dotenv report for successful job",
            "1 file(s): lava.env",
            "Uploaded dotenv report (201)", "Job succeeded",
          ], "\(after)")
        let steps = [
          "Uploading artifacts for successful job", "1 file(s): \(id)_log.yaml", "Uploaded artifacts (201)",
          "Uploading junit report for successful job", "1 file(s): \(id)_junit.xml",
        ]
        // (A line may follow a section's end marker on the same line.)
        #expect(
          steps.allSatisfy { step in before.filter { $0.hasSuffix(step) }.count == 1 }, "\(before.suffix(12))"
        )
        #expect(LAVAResumeProcessTests.onceInOrder(markers, in: trace).isEmpty)
        #expect(GitLabSections.problems(in: raw).isEmpty, "\(GitLabSections.problems(in: raw))")
        #expect(!trace.contains(server.token))
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs/\(job.id)").path))
        let lava = try LAVAConnections(http: http, metrics: RunnerMetrics()).client(
          url: server.url, token: server.token)
        // The LAVA job was followed to its end once, never submitted again.
        #expect(try await lava.jobs(describedWith: name).map(\.id) == [id])
        #expect(await gitlab.violations == [])
      }
    }
  }

  @Test func aRunnerSIGKILLedBetweenItsLastTracePatchAndItsFinalUpdateIsReplacedByOneThatOnlyReports()
    async throws
  {
    let server = resume.server
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let state = LAVAResumeProcessTests.temporary("final-kill-state")
    defer { try? FileManager.default.removeItem(at: state) }
    let tag = String(UUID().uuidString.prefix(8))
    let name = "final-kill-\(tag.lowercased())"
    try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(LAVAResumeProcessTests.runnerToken)
        let job = await gitlab.enqueue(resume.playedJob(name).artifact(.dotenv(paths: ["lava.env"])))
        // GitLab takes the log and the artifacts, but no job update gets through.
        await gitlab.failNext(.updateJob, with: .status(503), times: 1000)
        let (first, firstOutput) = try await resume.startRunner(gitlab, state: state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let id = try await resume.lavaJobID(of: job, in: gitlab)
        _ = try await worker.startNextJob(id)
        try await worker.run(id)
        try await worker.sendLog(
          id,
          LAVAResumeProcessTests.markers(0..<10, tag).map { PlayedWorker.logLine($0) } + [
            PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass")
          ])
        try await worker.finish(id, result: .pass)
        try await resume.waitForTrace("Job succeeded", of: job, in: gitlab)
        // The whole log is in GitLab: an update refused from now on is the final one.
        func refusedUpdates() async -> Int {
          await gitlab.requests.filter { $0.method == "PUT" && $0.status == 503 }.count
        }
        let refused = await refusedUpdates()
        let deadline = ContinuousClock.now + .seconds(30)
        while await refusedUpdates() <= refused, ContinuousClock.now < deadline {
          try await Task.sleep(for: .milliseconds(20))
        }
        await resume.killHard(first, gitlab)
        try resume.stop(first, output: firstOutput)
        let before = Self.lines(await gitlab.traceText(of: job.id))
        #expect(await gitlab.finalResult(of: job.id) == nil)
        await gitlab.setFaults(.none)

        let (second, secondOutput) = try await resume.startRunner(gitlab, state: state)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
        let lines = Self.lines(await gitlab.traceText(of: job.id))
        #expect(result.status == .success, "\(lines.suffix(20))")
        try resume.stop(second, output: secondOutput)
        // The first runner's whole log, then the restart notice, and nothing more.
        #expect(Array(lines.dropLast()) == before, "\(lines.suffix(5))")
        #expect(lines.last?.contains("lava-runner restarted; it was away for") == true)
        #expect(
          await gitlab.uploads(of: job.id).map(\.artifactType).sorted() == ["archive", "dotenv", "junit"])
        #expect(await gitlab.identicalReuploads.isEmpty)
        let lava = try LAVAConnections(http: http, metrics: RunnerMetrics()).client(
          url: server.url, token: server.token)
        #expect(try await lava.jobs(describedWith: name).map(\.id) == [id])
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs/\(job.id)").path))
        #expect(await gitlab.violations == [])
      }
    }
  }
}
