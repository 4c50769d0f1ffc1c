import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: artifacts")
struct FakeGitLabArtifactTests {
  private func dependencyEntries(_ payload: [String: Any]) -> [Int64: (token: String, size: Int)] {
    var result: [Int64: (token: String, size: Int)] = [:]
    for entry in payload["dependencies"] as? [[String: Any]] ?? [] {
      guard let id = (entry["id"] as? NSNumber)?.int64Value, let token = entry["token"] as? String else {
        continue
      }
      let file = entry["artifacts_file"] as? [String: Any]
      result[id] = (token, file?["size"] as? Int ?? -1)
    }
    return result
  }

  @Test func dependencyArchivesAreServedOrRefusedAsConfigured() async throws {
    try await withGitLab { gitlab, runner in
      let zip = try Archives.zip(["out/result.txt": "pass\n"])
      await gitlab.enqueue(
        FakeJob(script: ["true"])
          .dependency(.init(id: 11, name: "build", archive: .zip(zip)))
          .dependency(.init(id: 12, name: "files", archive: .files(["a.txt": "A"])))
          .dependency(.init(id: 13, name: "expired", archive: .missing))
          .dependency(.init(id: 14, name: "secret", archive: .forbidden)))
      let payload = try #require(try await runner.requestJob().json)
      let dependencies = dependencyEntries(payload)
      #expect(dependencies.count == 4)
      #expect(dependencies[11]?.size == zip.count)

      func get(_ id: Int64, token: String?) async throws -> Curl.Reply {
        try await Curl.send(
          "GET", "\(runner.api)/jobs/\(id)/artifacts", headers: token.map { ["JOB-TOKEN": $0] } ?? [:])
      }
      let built = try await get(11, token: dependencies[11]?.token)
      #expect(built.status == 200)
      #expect(built.body == zip)
      let files = try await get(12, token: dependencies[12]?.token)
      #expect(try Archives.unzip(files.body)["a.txt"] == Data("A".utf8))
      #expect(try await get(13, token: dependencies[13]?.token).status == 404)
      #expect(try await get(14, token: dependencies[14]?.token).status == 403)
      #expect(await gitlab.violations.isEmpty)

      #expect(try await get(11, token: "glcbt-wrong").status == 403)
      #expect(await gitlab.violations.count == 1)
    }
  }

  @Test func objectStorageRedirectGoesToASecondHostThatMustNotSeeTheJobToken() async throws {
    try await withGitLab { gitlab, runner in
      let zip = try Archives.zip(["log.txt": "boot ok\n"])
      await gitlab.enqueue(
        FakeJob(script: ["true"]).dependency(
          .init(id: 21, name: "build", archive: .zip(zip), viaObjectStorage: true)))
      let payload = try #require(try await runner.requestJob().json)
      let token = try #require(dependencyEntries(payload)[21]?.token)

      let redirect = try await Curl.send(
        "GET", "\(runner.api)/jobs/21/artifacts", headers: ["JOB-TOKEN": token])
      #expect(redirect.status == 302)
      let location = try #require(redirect.header("Location"))
      let storage = await gitlab.objectStorageURL.absoluteString
      #expect(location.hasPrefix(storage + "/"))
      #expect(!location.hasPrefix(await gitlab.url.absoluteString + "/"))

      let clean = try await Curl.send("GET", location)
      #expect(clean.status == 200)
      #expect(clean.body == zip)
      #expect(await gitlab.violations.isEmpty)

      _ = try await Curl.send("GET", location, headers: ["JOB-TOKEN": token])
      #expect(await gitlab.violations.filter { $0.contains("forwarded a GitLab token") }.count == 1)
      #expect(await gitlab.objectStorageDownloads[21] == 2)
    }
  }

  @Test func uploadsAreParsedAndRecorded() async throws {
    try await withGitLab { gitlab, runner in
      var capable = runner
      capable.features["upload_multiple_artifacts"] = true
      let job = await gitlab.enqueue(
        FakeJob(script: ["true"]).artifact(.init(paths: ["results/"])).artifact(.junit(paths: ["junit.xml"])))
      _ = try await capable.requestJob()

      let zip = try Archives.zip(["results/summary.txt": "3 passed\n"])
      let archive = try await capable.upload(
        job.id, token: job.token, file: zip, filename: "artifacts.zip",
        query: "artifact_type=archive&artifact_format=zip&expire_in=1%20week")
      #expect(archive.status == 201)
      let junit = try Archives.gzip(Data("<testsuites/>".utf8))
      let report = try await capable.upload(
        job.id, token: job.token, file: junit, filename: "junit.xml.gz",
        query: "artifact_type=junit&artifact_format=gzip")
      #expect(report.status == 201)

      let uploads = await gitlab.uploads(of: job.id)
      #expect(uploads.map(\.artifactType) == ["archive", "junit"])
      #expect(uploads.first?.expireIn == "1 week")
      #expect(uploads.first?.filename == "artifacts.zip")
      #expect(try uploads.first?.zipEntries()["results/summary.txt"] == Data("3 passed\n".utf8))
      #expect(try uploads.last?.gunzipped() == Data("<testsuites/>".utf8))
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func malformedMultipartIsRecorded() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      let unterminated = Data("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nzipbytes".utf8)
      let reply = try await runner.upload(
        job.id, token: job.token, file: Data(), filename: "a.zip", query: "artifact_type=archive",
        contentType: "multipart/form-data; boundary=b", body: unterminated)
      #expect(reply.status == 400)
      #expect(await gitlab.violations.filter { $0.contains("not closed") }.count == 1)

      let notMultipart = try await runner.upload(
        job.id, token: job.token, file: Data(), filename: "a.zip", query: "", contentType: "application/zip",
        body: Data("PK".utf8))
      #expect(notMultipart.status == 400)
      #expect(await gitlab.uploads.isEmpty)
    }
  }

  @Test func archiveMustBeZipAndJunitGzip() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      let reply = try await runner.upload(
        job.id, token: job.token, file: Data("x".utf8), filename: "a",
        query: "artifact_type=archive&artifact_format=gzip")
      #expect(reply.status == 400)
      #expect(await gitlab.violations.filter { $0.contains("must be uploaded as zip") }.count == 1)
    }
  }

  @Test func uploadAboveTheLimitAnswers413WithoutViolation() async throws {
    try await withGitLab(.init(longPollTimeout: .milliseconds(300), maxArtifactBytes: 16)) { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      let reply = try await runner.upload(
        job.id, token: job.token, file: Data(count: 17), filename: "a.zip", query: "artifact_type=archive")
      #expect(reply.status == 413)
      #expect(await gitlab.uploads.isEmpty)
      #expect(await gitlab.violations.isEmpty)
    }
  }
}

@Suite("FakeGitLab: artifacts with the running job's token")
struct FakeGitLabRunningJobTokenTests {
  @Test func dependencyCanBeFetchedWithTheRunningJobsToken() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(
        FakeJob(script: ["true"]).dependency(
          .init(id: 31, name: "build", usesRunningJobToken: true, archive: .files(["a": "A"]))))
      let payload = try #require(try await runner.requestJob().json)
      let dependency = try #require((payload["dependencies"] as? [[String: Any]])?.first)
      #expect(dependency["token"] as? String == job.token)
      let reply = try await Curl.send(
        "GET", "\(runner.api)/jobs/31/artifacts", headers: ["JOB-TOKEN": job.token])
      #expect(reply.status == 200)
      #expect(await gitlab.downloads[31] == 1)
      #expect(await gitlab.violations.isEmpty)
    }
  }
}
