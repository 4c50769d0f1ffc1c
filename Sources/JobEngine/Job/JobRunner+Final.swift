import Logging
import RunnerCore

extension JobRunner {
  /// Sends the job's final state once its whole log is in GitLab (again from the start when
  /// GitLab lost it). Out of line: an async function's frame holds the locals of everything
  /// inlined into it, and a task keeps the memory of its deepest chain of frames for as long
  /// as it lives, so what runs once at the end must not widen the frame every job waits in
  /// (issue 10: 1000 waiting jobs in one runner).
  @inline(never)
  func sendFinalState(
    _ outcome: JobOutcome, trace: JobTrace, uploader: TraceUploader, reporter: JobReporter, logger: Logger
  ) async {
    let (checksum, size) = trace.finish()
    let result = await reporter.reportFinal(outcome, checksum: checksum, size: size) {
      trace.resendFromStart()
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await uploader.run() }
        if await !trace.waitUntilDrained(timeout: settings.finalUpdatePatience) { trace.abandon() }
        group.cancelAll()
      }
    }
    switch result {
    case .accepted:
      logger.info(
        "job finished",
        metadata: [
          "state": "\(outcome.state.rawValue)", "failure_reason": "\(outcome.failureReason?.rawValue ?? "")",
        ])
    case .jobGone(let status):
      logger.info("job ended in GitLab before its final update", metadata: ["status": "\(status)"])
    case .gaveUp(let problem):
      logger.error(
        "GitLab did not take the job's final state", metadata: ["problem": "\(client.mask(problem))"])
    }
  }
}
