import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: dotenv reports")
struct FakeGitLabDotenvTests {
  /// Uploads `text` gzipped as a dotenv report and returns the status.
  private func upload(_ text: String, format: String = "gzip", raw: Data? = nil) async throws -> (
    Int, [String], Int
  ) {
    try await withGitLab { gitlab, runner in
      var capable = runner
      capable.features["upload_multiple_artifacts"] = true
      let job = await gitlab.enqueue(FakeJob(script: ["true"]).artifact(.dotenv(paths: ["lava.env"])))
      _ = try await capable.requestJob()
      let reply = try await capable.upload(
        job.id, token: job.token, file: raw ?? (try Archives.gzip(Data(text.utf8))), filename: "lava.env.gz",
        query: "artifact_type=dotenv&artifact_format=\(format)")
      return (reply.status, await gitlab.violations, await gitlab.uploads(of: job.id).count)
    }
  }

  @Test func aDotenvReportOfKeyValueLinesIsAccepted() async throws {
    let (status, violations, uploads) = try await upload("LAVA_JOB_ID=12\nLAVA_DEVICE=qemu-01\n")
    #expect(status == 201)
    #expect(violations.isEmpty)
    #expect(uploads == 1)
  }

  @Test func gitLabsDotenvRulesAreEnforcedWith400() async throws {
    let cases: [(String, String)] = [
      ("LAVA_JOB_ID 12\n", "Invalid Format"),
      ("LAVA-JOB=12\n", "Key can contain only"),
      ("=12\n", "Key can contain only"),
      ("A=1\n\nB=2\n", "Invalid Format"),
      ((1...21).map { "K\($0)=v\n" }.joined(), "more than 20 variables"),
      ("A=1\u{1}\n", "control character"),
    ]
    for (text, message) in cases {
      let (status, violations, uploads) = try await upload(text)
      #expect(status == 400, "\(text.debugDescription)")
      #expect(violations.count == 1 && violations.first?.contains(message) == true, "\(violations)")
      #expect(uploads == 0)
    }
  }

  @Test func aDotenvReportMustBeGzipAndUnder5KiB() async throws {
    let (zipStatus, zipViolations, _) = try await upload("A=1\n", format: "zip")
    #expect(zipStatus == 400)
    #expect(zipViolations.contains { $0.contains("must be uploaded as gzip") })
    var random = SplitMix64(seed: 3)
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    // Random text, so that gzip cannot shrink it below GitLab's 5 KiB.
    let noise = (0..<10000).map { _ in alphabet[Int(random.next() % 36)] }
    let (bigStatus, bigViolations, _) = try await upload("A=" + String(noise) + "\n")
    #expect(bigStatus == 400)
    #expect(bigViolations.contains { $0.contains("Dotenv Artifact Too Big") })
  }
}
