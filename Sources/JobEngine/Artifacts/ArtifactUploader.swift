import Foundation
import GitLabAPI
import Protocols
import RunnerCore
import Synchronization

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

  /// What the job's record keeps of the uploads, so that a resumed job goes on from there;
  /// `nil`: nothing is kept.
  package var progress: (any ArtifactProgress)?

  package func upload(_ offered: [String: URL], outcome: JobOutcome) async {
    for (index, spec) in job.artifacts.enumerated() where Self.applies(spec.when, to: outcome) {
      if progress?.isDone(index) == true { continue }
      let logged = await progress?.starting(index) ?? false
      // The entry's opening lines go to the log in one write: a runner that dies leaves all of
      // them or none, and the restarted one writes them unless the log has them (or the entry
      // cannot be sent now: why is worth saying twice).
      let opening = CollectedLog()
      let packed = await pack(spec, index: index, offered: offered, outcome: outcome, log: opening)
      if !logged || packed == nil { await log.write(opening.text) }
      if let packed {
        await send(packed.file, filename: packed.filename, spec: spec, label: packed.label)
        try? FileManager.default.removeItem(at: packed.file)
      }
      await progress?.done(index)
    }
  }

  /// The files of entry `spec` packed as its format says, or `nil` (with the reason in `log`)
  /// when there is nothing to send.
  private func pack(
    _ spec: JobPayload.ArtifactSpec, index: Int, offered: [String: URL], outcome: JobOutcome, log: any JobLog
  ) async -> (file: URL, filename: String, label: String)? {
    let label = spec.artifactType == "archive" ? "artifacts" : "\(spec.artifactType) report"
    let names: [String]
    do {
      names = try ArtifactPathMatcher(paths: spec.paths, exclude: spec.exclude).select(
        from: offered.keys.sorted())
    } catch {
      await log.error("\(label) not uploaded: \(error)")
      return nil
    }
    await log.line(
      "Uploading \(label) for \(outcome.state == .success ? "successful" : "failed") job", color: .cyan)
    guard !names.isEmpty else {
      await log.warning(
        "\(spec.paths.joined(separator: ", ")): no matching files among those the commands produced"
          + (offered.isEmpty ? " (none)" : " (\(offered.keys.sorted().joined(separator: ", ")))"))
      return nil
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
        return nil
      }
    } catch {
      await log.error("could not pack \(label): \(error)")
      try? FileManager.default.removeItem(at: packed)
      return nil
    }
    await log.line("\(names.count) file(s): \(names.joined(separator: ", "))", color: .gray)
    return (packed, filename, label)
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

/// Lines kept to be written to the job log at once.
private final class CollectedLog: JobLog {
  private let collected = Mutex("")

  func write(_ text: String) async { collected.withLock { $0 += text } }

  var text: String { collected.withLock { $0 } }
}
