import Foundation
import TestSupport
import Testing

@testable import JobEngine

/// A runner that dies after its job's script ended: during an artifact upload, or between its
/// last trace patch and its final update; a new runner on the same state directory finishes the
/// job without running the script again (its commands need not resume), uploading only what
/// GitLab may lack and writing no line twice. The death is staged as in ``ResumeAfterDeathTests``.
@Suite(.serialized) struct ResumeDuringUploadTests {
  static let script = ["produce-test a.txt archive-content", "produce-test j.xml junit-content"]

  static func job() -> FakeJob {
    FakeJob(script: script).artifact(.init(paths: ["a.txt"])).artifact(.junit(paths: ["j.xml"]))
  }

  /// The trace of the same job, uninterrupted.
  static func reference() async throws -> String {
    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(Self.job())
      let harness = try await RunnerHarness(gitlab: gitlab)
      return try await harness.running {
        _ = try await gitlab.result(of: job.id, timeout: .seconds(30))
        return await gitlab.traceText(of: job.id)
      }
    }
  }

  /// Runs the job on a first runner until `stopped` holds, "kills" that runner and returns the
  /// state directory it left.
  static func leaveJob(
    _ gitlab: FakeGitLab, when stopped: @Sendable () async throws -> Void
  ) async throws -> URL {
    let firstDirectory = ResumeAfterDeathTests.temporary("state-first")
    let left = ResumeAfterDeathTests.temporary("state-left")
    defer { try? FileManager.default.removeItem(at: firstDirectory) }
    let first = try await RunnerHarness(
      gitlab: gitlab, finalUpdatePatience: .milliseconds(300),
      stateDirectory: try StateDirectory(firstDirectory))
    let poller = first.poller
    let stop = first.stop
    let loop = Task { try? await poller.run(until: stop) }
    try await stopped()
    try FileManager.default.copyItem(at: firstDirectory, to: left)
    await first.http.shutdown()
    await gitlab.runnerProcessDied()
    stop.abort()
    await loop.value
    return left
  }

  /// Resumes from `left` and checks the job ends as the uninterrupted one did.
  static func finish(_ gitlab: FakeGitLab, _ job: EnqueuedJob, from left: URL, reference: String) async throws
    -> [String]
  {
    let second = try await RunnerHarness(gitlab: gitlab, stateDirectory: try StateDirectory(left))
    let result = try await second.running { try await gitlab.result(of: job.id, timeout: .seconds(30)) }
    #expect(result.reportedState == "success")
    let lines = await gitlab.traceText(of: job.id).split(separator: "\n", omittingEmptySubsequences: false)
      .map(String.init)
    #expect(lines.filter { $0.contains("lava-runner restarted; it was away for") }.count == 1)
    let withoutNotice = lines.filter { !$0.contains("lava-runner restarted") }.joined(separator: "\n")
    #expect(
      ResumeAfterDeathTests.normalized(withoutNotice) == ResumeAfterDeathTests.normalized(reference),
      "\(lines)")
    let uploads = await gitlab.uploads(of: job.id)
    #expect(uploads.map(\.artifactType) == ["archive", "junit"])
    #expect(try uploads.first?.zipEntries()["a.txt"] == Data("archive-content".utf8))
    #expect(try uploads.last?.gunzipped() == Data("junit-content".utf8))
    #expect(await gitlab.violations == [])
    #expect(!FileManager.default.fileExists(atPath: left.appendingPathComponent("jobs/\(job.id)").path))
    return lines
  }

  @Test(arguments: [ArtifactUploadHold.beforeStoring, .afterStoring])
  func aRunnerThatDiesDuringAnUploadIsReplacedByOneThatSendsOnlyThatUploadAgainAndRunsNoCommandAgain(
    hold: ArtifactUploadHold
  ) async throws {
    let reference = try await Self.reference()
    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(Self.job())
      await gitlab.holdNextUpload(of: job.id, artifactType: "junit", hold)
      let left = try await Self.leaveJob(gitlab) {
        try await gitlab.waitForHeldUpload(of: job.id, artifactType: "junit", timeout: .seconds(30))
      }
      defer { try? FileManager.default.removeItem(at: left) }
      let lines = try await Self.finish(gitlab, job, from: left, reference: reference)
      // The restart notice comes where the first runner stopped: in the JUnit report's upload.
      let notice = try #require(lines.firstIndex { $0.contains("lava-runner restarted") })
      #expect(lines[notice - 1].hasSuffix("1 file(s): j.xml\u{1B}[0;m"), "\(lines)")
      #expect(await gitlab.identicalReuploads.map(\.artifactType) == (hold == .afterStoring ? ["junit"] : []))
    }
  }

  @Test func aRunnerThatDiesBetweenItsLastTracePatchAndItsFinalUpdateIsReplacedByOneThatOnlyReports()
    async throws
  {
    let reference = try await Self.reference()
    try await FakeGitLab.withRunning { gitlab in
      let job = await gitlab.enqueue(Self.job())
      // GitLab takes the log but no job update: the final one never gets through.
      await gitlab.failNext(.updateJob, with: .status(503), times: 1000)
      let left = try await Self.leaveJob(gitlab) {
        let deadline = ContinuousClock.now + .seconds(30)
        func refusedUpdates() async -> Int {
          await gitlab.requests.filter { $0.method == "PUT" && $0.status == 503 }.count
        }
        while await !gitlab.traceText(of: job.id).contains("Job succeeded") {
          guard ContinuousClock.now < deadline else { throw CancellationError() }
          try await Task.sleep(for: .milliseconds(5))
        }
        // The whole log is in GitLab: the updates from now on are the final one, retried.
        let refused = await refusedUpdates()
        while await refusedUpdates() < refused + 2 {
          guard ContinuousClock.now < deadline else { throw CancellationError() }
          try await Task.sleep(for: .milliseconds(5))
        }
      }
      defer { try? FileManager.default.removeItem(at: left) }
      await gitlab.setFaults(.none)
      let lines = try await Self.finish(gitlab, job, from: left, reference: reference)
      #expect(lines.last { !$0.isEmpty }?.contains("lava-runner restarted") == true, "\(lines.suffix(3))")
      #expect(await gitlab.identicalReuploads.isEmpty)
    }
  }
}
