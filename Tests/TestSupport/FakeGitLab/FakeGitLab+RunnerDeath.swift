extension FakeGitLab {
  /// As when the runner process dies (SIGKILL, OOM kill) while holding jobs: the reply to its
  /// last trace patch of each job may never have reached it, so a restarted runner may send
  /// that chunk once more (GitLab answers 416 with its length, and that is no violation). A
  /// patch the dead runner had sent may still be taken after this call: the allowance waits for
  /// the resend. A second duplicate, a gap, or any other mistake still is a violation.
  public func runnerProcessDied() {
    for (id, job) in jobs where job.status.isProcessingOnRunner {
      jobs[id]?.lastTraceReplyLost = true
    }
  }
}
