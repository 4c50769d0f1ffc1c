import Foundation
import GitLabAPI
import Protocols
import RunnerCore

/// Uploads what commands offered, as the job's `artifacts:` entries say: paths and exclude
/// matched the way the official runner matches them, `when` against the job's result, an
/// `archive` as zip and a `junit` report as gzip. A refusal is reported in the job log and
/// never changes the job's result.
package struct ArtifactUploader: Sendable {
  package let client: GitLabClient
  package let job: JobPayload
  package let log: any JobLog
  package let folder: URL
  package var backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(30))
  package var attempts = 3

  package func upload(_ offered: [String: URL], outcome: JobOutcome) async {
    for (index, spec) in job.artifacts.enumerated() where Self.applies(spec.when, to: outcome) {
      let label = spec.artifactType == "archive" ? "artifacts" : "\(spec.artifactType) report"
      let names: [String]
      do {
        names = try ArtifactPathMatcher(paths: spec.paths, exclude: spec.exclude).select(
          from: offered.keys.sorted())
      } catch {
        await log.error("\(label) not uploaded: \(error)")
        continue
      }
      await log.line(
        "Uploading \(label) for \(outcome.state == .success ? "successful" : "failed") job", color: .cyan)
      guard !names.isEmpty else {
        await log.warning(
          "\(spec.paths.joined(separator: ", ")): no matching files among those the commands produced"
            + (offered.isEmpty ? " (none)" : " (\(offered.keys.sorted().joined(separator: ", ")))"))
        continue
      }
      let files = names.map { (name: $0, file: offered[$0]!) }
      let packed = folder.appendingPathComponent("upload-\(index)")
      let filename: String
      do {
        switch spec.artifactFormat {
        case "zip":
          filename = "artifacts.zip"
          try UploadArchiveWriter.write(files.map { .init(name: $0.name, file: $0.file) }, to: packed)
        case "gzip":
          filename =
            names.count == 1 ? "\((names[0] as NSString).lastPathComponent).gz" : "\(spec.artifactType).gz"
          try GzipReportWriter.write(members: files.map { $0.file }, to: packed)
        default:
          await log.warning(
            "artifact format '\(spec.artifactFormat)' of \(label) is not supported; not uploaded")
          continue
        }
      } catch {
        await log.error("could not pack \(label): \(error)")
        continue
      }
      defer { try? FileManager.default.removeItem(at: packed) }
      await log.line("\(names.count) file(s): \(names.joined(separator: ", "))", color: .gray)
      await send(packed, filename: filename, spec: spec, label: label)
    }
  }

  private func send(_ file: URL, filename: String, spec: JobPayload.ArtifactSpec, label: String) async {
    for attempt in 1...attempts {
      do {
        let response = try await client.uploadArtifacts(
          jobID: job.id, jobToken: job.token, file: file, filename: filename, type: spec.artifactType,
          format: spec.artifactFormat, expireIn: spec.expireIn)
        switch response.status {
        case 200..<300:
          await log.line("Uploaded \(label) (\(response.status))", color: .green)
          return
        case 413:
          await log.error(
            "GitLab refused \(label) as too large (413): raise the instance's maximum artifacts size or "
              + "keep fewer files (artifacts: paths)")
          return
        case 408, 429, 500...599:
          if attempt == attempts {
            await log.error("GitLab did not take \(label): it answered \(response.status) \(attempts) times")
            return
          }
        default:
          let reason = String(decoding: response.body.prefix(300), as: UTF8.self)
          await log.error("GitLab refused \(label) (\(response.status)): \(client.mask(reason))")
          return
        }
      } catch {
        if !error.isTransient || attempt == attempts {
          await log.error("could not upload \(label): \(error)")
          return
        }
      }
      await log.warning("uploading \(label) failed; trying again (\(attempt + 1)/\(attempts))")
      try? await Task.sleep(for: backoff.delay(attempt: attempt))
    }
  }

  /// GitLab's `when:` for artifacts: empty means on_success.
  package static func applies(_ when: String, to outcome: JobOutcome) -> Bool {
    switch when {
    case "always": true
    case "on_failure": outcome.state == .failed
    default: outcome.state == .success
    }
  }
}
