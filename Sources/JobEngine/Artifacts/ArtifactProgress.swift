/// Which of a job's `artifacts:` entries (by their index in the job's payload) are done with,
/// kept in the job's record so that a runner restarted during the uploads neither uploads an
/// entry GitLab took again nor writes its lines in the job log twice.
package protocol ArtifactProgress: Sendable {
  /// Whether entry `index` was done with before the restart.
  func isDone(_ index: Int) -> Bool

  /// Entry `index` starts: true when the job log already has its opening lines (the runner died
  /// while it was being uploaded: it is sent again, its lines are not written again).
  func starting(_ index: Int) async -> Bool

  /// Entry `index` is done with: uploaded, refused for good, or with nothing to upload.
  func done(_ index: Int) async
}
