import Protocols
import RunnerCore

/// Where a job's offered artifacts go once its script has run, before its verdict: GitLab for a
/// runner's job, a folder for `lava-runner exec`.
package protocol ArtifactDelivery: Sendable {
  /// Delivers what was offered. A thrown error fails a job that had succeeded (with the error's
  /// failure reason); after a failure it is only a warning.
  func deliver(after outcome: JobOutcome, log: any JobLog) async throws
}

/// A GitLab job's artifacts: uploaded as its `artifacts:` entries say, unless GitLab cancelled
/// the job at once (its token no longer works). Refusals are logged by the uploader and never
/// change the job's result.
package struct GitLabArtifactDelivery: ArtifactDelivery {
  package let offers: ArtifactOffers
  package let uploader: ArtifactUploader
  package let control: JobControl

  package func deliver(after outcome: JobOutcome, log: any JobLog) async {
    guard control.cancellation != .canceledImmediately else { return }
    await uploader.upload(offers.offered, outcome: outcome)
  }
}
