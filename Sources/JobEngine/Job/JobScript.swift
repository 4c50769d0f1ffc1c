import GitLabAPI

/// What ``JobExecutor`` runs: the script lines under the job's timeout, then the
/// `after_script` lines under theirs. A GitLab job's come from its payload; `exec` runs one line.
package struct JobScript: Sendable, Equatable {
  package var lines: [String]
  /// `nil`: the lines may take as long as they need.
  package var timeout: Duration?
  package var afterScript: [String]
  package var afterScriptTimeout: Duration

  package init(
    lines: [String], timeout: Duration? = nil, afterScript: [String] = [],
    afterScriptTimeout: Duration = JobExecutor.defaultAfterScriptTimeout
  ) {
    self.lines = lines
    self.timeout = timeout
    self.afterScript = afterScript
    self.afterScriptTimeout = afterScriptTimeout
  }

  /// The `script` and `after_script` steps of a GitLab job, with GitLab's defaults for the
  /// timeouts it leaves out; a step's own timeout never exceeds the job's.
  package init(_ job: JobPayload) {
    let jobTimeout = job.runnerInfo.timeout.map { Duration.seconds($0) } ?? JobExecutor.defaultJobTimeout
    let script = job.step("script")
    let afterScript = job.step("after_script")
    self.init(
      lines: script?.script ?? [],
      timeout: min(jobTimeout, script?.timeout.map { .seconds($0) } ?? jobTimeout),
      afterScript: afterScript?.script ?? [],
      afterScriptTimeout: afterScript?.timeout.map { .seconds($0) } ?? JobExecutor.defaultAfterScriptTimeout)
  }
}
