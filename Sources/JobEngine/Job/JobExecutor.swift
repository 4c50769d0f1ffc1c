import GitLabAPI
import Protocols
import RunnerCore

/// Runs a job's `script` and `after_script` steps through the interpreter, enforcing the
/// timeouts and stopping when the job is cancelled. Knows nothing of HTTP: the context and the
/// control are handed in.
package struct JobExecutor: Sendable {
  /// GitLab's default for `after_script` when the step names no timeout.
  package static let defaultAfterScriptTimeout: Duration = .seconds(300)
  /// GitLab's default job timeout when `runner_info` names none.
  package static let defaultJobTimeout: Duration = .seconds(3600)

  package let interpreter: ScriptInterpreter

  package func execute(_ job: JobPayload, context: any JobContext, control: JobControl) async -> JobOutcome {
    let log = context.log
    let jobTimeout = job.runnerInfo.timeout.map { Duration.seconds($0) } ?? Self.defaultJobTimeout
    let script = job.step("script")
    let scriptTimeout = min(jobTimeout, script?.timeout.map { .seconds($0) } ?? jobTimeout)

    let result = await run(script?.script ?? [], timeout: scriptTimeout, context: context, control: control)
    var outcome: JobOutcome
    var summary: String
    switch result {
    case .succeeded:
      outcome = .success
      summary = ""
    case .failed(let error):
      let failure = error as? any JobFailure
      outcome = .failed(failure?.failureReason ?? .unknownFailure, exitCode: failure?.exitCode ?? 1)
      summary = String(describing: error)
    case .interrupted(let reason):
      (outcome, summary) = Self.outcome(for: reason, timeout: scriptTimeout)
    }

    if let afterScript = job.step("after_script"), !afterScript.script.isEmpty,
      Self.afterScriptRuns(after: result)
    {
      let timeout = afterScript.timeout.map { Duration.seconds($0) } ?? Self.defaultAfterScriptTimeout
      await log.line("Running after_script", color: .cyan)
      switch await run(afterScript.script, timeout: timeout, context: context, control: nil) {
      case .succeeded:
        break
      case .failed(let error):
        await log.warning("after_script failed, which does not change the job's result: \(error)")
      case .interrupted:
        await log.warning(
          "after_script did not finish within \(Self.format(timeout)); the job's result stands")
      }
    }

    if outcome.state == .success {
      await log.line("Job succeeded", color: .green)
    } else {
      await log.error("Job failed: \(summary)")
    }
    return outcome
  }

  private enum StepResult: Sendable {
    case succeeded
    case failed(any Error)
    case interrupted(JobCancellation)
  }

  /// Runs lines in order until one fails, the timeout elapses or the job is cancelled (when a
  /// control is given). A cancelled command is waited for, so that it can clean up.
  private func run(
    _ lines: [String], timeout: Duration, context: any JobContext, control: JobControl?
  ) async -> StepResult {
    await withTaskGroup(of: StepResult?.self) { group in
      group.addTask {
        do {
          for line in lines {
            try Task.checkCancellation()
            try await interpreter.run(line, in: context)
          }
          return .succeeded
        } catch {
          return Task.isCancelled ? nil : .failed(error)
        }
      }
      group.addTask {
        do {
          try await Task.sleep(for: timeout)
        } catch {
          return nil
        }
        control?.cancel(.timedOut)
        return .interrupted(.timedOut)
      }
      if let control {
        group.addTask {
          await control.waitForCancellation().map { .interrupted($0) }
        }
      }
      var decided: StepResult?
      for await result in group {
        guard let result else { continue }
        if decided == nil {
          decided = result
          group.cancelAll()
        }
      }
      return decided ?? .interrupted(.runnerShutdown)
    }
  }

  private static func afterScriptRuns(after result: StepResult) -> Bool {
    switch result {
    case .succeeded, .failed, .interrupted(.timedOut), .interrupted(.canceledGracefully): true
    case .interrupted(.canceledImmediately), .interrupted(.runnerShutdown): false
    }
  }

  private static func outcome(for reason: JobCancellation, timeout: Duration) -> (JobOutcome, String) {
    switch reason {
    case .timedOut:
      (.failed(.jobExecutionTimeout), "execution took longer than \(format(timeout))")
    case .canceledGracefully, .canceledImmediately:
      // GitLab has already marked the job canceled; it keeps that state whatever we report.
      (.failed(.scriptFailure), "canceled in GitLab")
    case .runnerShutdown:
      (.failed(.runnerInterrupted), "the runner is shutting down")
    }
  }

  package static func format(_ duration: Duration) -> String {
    let seconds = Int(duration.components.seconds)
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60)
    if h > 0 { return "\(h)h\(m)m\(s)s" }
    if m > 0 { return "\(m)m\(s)s" }
    if seconds == 0 {
      return "\(duration.components.attoseconds / 1_000_000_000_000_000)ms"
    }
    return "\(s)s"
  }

  package init(interpreter: ScriptInterpreter) {
    self.interpreter = interpreter
  }
}
