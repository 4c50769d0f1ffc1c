import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: a second upload of an artifact, and uploads held for a test")
struct FakeGitLabHeldUploadTests {
  @Test func aSecondUploadOfATypeIsASuccessWhenItIsTheSameBytesAndRefusedOtherwiseAsGitLabDoes() async throws
  {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]).artifact(.init(paths: ["a"])))
      _ = try await runner.requestJob()
      let zip = try Archives.zip(["a": "one"])
      func send(_ data: Data) async throws -> Int {
        try await runner.upload(
          job.id, token: job.token, file: data, filename: "artifacts.zip",
          query: "artifact_type=archive&artifact_format=zip"
        ).status
      }
      #expect(try await send(zip) == 201)
      #expect(try await send(zip) == 201)
      #expect(await gitlab.uploads(of: job.id).count == 1)
      #expect(await gitlab.identicalReuploads.count == 1)
      #expect(await gitlab.violations.isEmpty)

      #expect(try await send(try Archives.zip(["a": "two"])) == 400)
      #expect(try await gitlab.uploads(of: job.id).first?.zipEntries()["a"] == Data("one".utf8))
      #expect(
        await gitlab.violations.filter { $0.contains("a second, different archive artifact") }.count == 1)
    }
  }

  @Test func aHeldUploadIsAnsweredOnlyOnceReleasedAndOneHeldBeforeStoringIsLostWithItsRunner() async throws {
    try await withGitLab { gitlab, runner in
      var capable = runner
      capable.features["upload_multiple_artifacts"] = true
      let job = await gitlab.enqueue(
        FakeJob(script: ["true"]).artifact(.init(paths: ["a"])).artifact(.junit(paths: ["j.xml"])))
      _ = try await capable.requestJob()
      await gitlab.holdNextUpload(of: job.id, artifactType: "archive", .afterStoring)
      await gitlab.holdNextUpload(of: job.id, artifactType: "junit", .beforeStoring)
      let zip = try Archives.zip(["a": "one"])
      let junit = try Archives.gzip(Data("<testsuites/>".utf8))
      let archiveReply = Task {
        try await capable.upload(
          job.id, token: job.token, file: zip, filename: "artifacts.zip",
          query: "artifact_type=archive&artifact_format=zip")
      }
      try await gitlab.waitForHeldUpload(of: job.id, artifactType: "archive", timeout: .seconds(10))
      #expect(await gitlab.uploads(of: job.id).map(\.artifactType) == ["archive"])
      let junitReply = Task {
        try await capable.upload(
          job.id, token: job.token, file: junit, filename: "junit.gz",
          query: "artifact_type=junit&artifact_format=gzip")
      }
      try await gitlab.waitForHeldUpload(of: job.id, artifactType: "junit", timeout: .seconds(10))
      try await Task.sleep(for: .milliseconds(200))
      #expect(await gitlab.uploads(of: job.id).map(\.artifactType) == ["archive"])

      // Released: the archive's reply comes; the runner dies: the junit report is never stored.
      await gitlab.releaseHeldUploads()
      #expect(try await archiveReply.value.status == 201)
      await gitlab.holdNextUpload(of: job.id, artifactType: "junit", .beforeStoring)
      let again = Task {
        try await capable.upload(
          job.id, token: job.token, file: junit, filename: "junit.gz",
          query: "artifact_type=junit&artifact_format=gzip")
      }
      #expect(try await junitReply.value.status == 201)
      #expect(await gitlab.uploads(of: job.id).map(\.artifactType) == ["archive", "junit"])
      try await gitlab.waitForHeldUpload(of: job.id, artifactType: "junit", timeout: .seconds(10))
      await gitlab.runnerProcessDied()
      _ = try? await again.value
      #expect(await gitlab.uploads(of: job.id).map(\.artifactType) == ["archive", "junit"])
      #expect(await gitlab.identicalReuploads.isEmpty)
      #expect(await gitlab.violations.isEmpty)
    }
  }
}
