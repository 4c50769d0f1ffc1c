import GitLabAPI
import Protocols
import RunnerCore

/// Runs a job's script and `after_script` lines through the interpreter, enforcing the timeouts,
/// stopping when the job is cancelled, delivering the offered artifacts and writing the verdict.
/// The one executor: a GitLab job and `lava-runner exec` both run through it, with their own
/// context (log, dependency files) and artifact delivery. Knows nothing of HTTP.
package struct JobExecutor: Sendable {
  /// GitLab's default for `after_script` when the step names no timeout.
  package static let defaultAfterScriptTimeout: Duration = .seconds(300)
  /// GitLab's default job timeout when `runner_info` names none.
  package static let defaultJobTimeout: Duration = .seconds(3600)
  /// How long a command asked to stop (cancelled, timed out, runner shutdown) may take to return
  /// before the job is reported without it. The official runner terminates a cancelled job's
  /// process, force-kills it after a grace period and reports the job even if the process never
  /// exits; a task cannot be killed, so here its cancellation is the request to stop and a
  /// command still running after the grace period is left behind. LAVA commands give their
  /// clean-up 10 s.
  package static let defaultCancellationGracePeriod: Duration = .seconds(30)

  package let interpreter: ScriptInterpreter
  package var cancellationGracePeriod: Duration
  /// The verdict's summary when the job is cancelled (a GitLab cancel, or Ctrl-C under `exec`).
  package var cancellationSummary: String

  package init(
    interpreter: ScriptInterpreter, cancellationGracePeriod: Duration = Self.defaultCancellationGracePeriod,
    cancellationSummary: String = "canceled in GitLab"
  ) {
    self.interpreter = interpreter
    self.cancellationGracePeriod = cancellationGracePeriod
    self.cancellationSummary = cancellationSummary
  }

  /// Runs the steps of a GitLab job.
  package func execute(
    _ job: JobPayload, context: any JobContext, control: JobControl, artifacts: (any ArtifactDelivery)? = nil
  ) async -> JobOutcome {
    await execute(JobScript(job), context: context, control: control, artifacts: artifacts)
  }

  /// Runs `script`, then `after_script` unless the job was cancelled at once, then delivers the
  /// artifacts, then writes the verdict as the last line of the log. `progress` (the state
  /// directory's record) hears of each script line and says where a resumed job starts.
  package func execute(
    _ script: JobScript, context: any JobContext, control: JobControl,
    artifacts: (any ArtifactDelivery)? = nil, progress: (any ScriptProgress)? = nil
  ) async -> JobOutcome {
    let log = context.log
    // A resumed job whose script had ended before the restart goes on with its artifacts.
    let concluded = progress?.concluded
    let result =
      concluded != nil
      ? .succeeded
      : await run(
        script.lines, timeout: script.timeout, context: context, control: control, progress: progress)
    var verdict: JobVerdict
    switch result {
    case .succeeded:
      verdict = concluded ?? .success
    case .failed(let error):
      verdict = JobVerdict(failure: error)
    case .interrupted(let reason):
      verdict = self.verdict(for: reason, timeout: script.timeout)
    }

    if concluded == nil, !script.afterScript.isEmpty, Self.afterScriptRuns(after: result) {
      await log.line("Running after_script", color: .cyan)
      switch await run(script.afterScript, timeout: script.afterScriptTimeout, context: context, control: nil)
      {
      case .succeeded:
        break
      case .failed(let error):
        await log.warning("after_script failed, which does not change the job's result: \(error)")
      case .interrupted:
        await log.warning(
          "after_script did not finish within \(Self.format(script.afterScriptTimeout)); the job's result stands"
        )
      }
    }

    if concluded == nil { await progress?.concluding(verdict) }
    if let artifacts {
      do {
        try await artifacts.deliver(after: verdict.outcome, log: log)
      } catch {
        if verdict.outcome.state == .success {
          verdict = JobVerdict(failure: error)
        } else {
          await log.warning(String(describing: error))
        }
      }
    }

    if await progress?.writingVerdict(verdict) ?? true { await verdict.write(to: log) }
    return verdict.outcome
  }

  private enum StepResult: Sendable {
    case succeeded
    case failed(any Error)
    case interrupted(JobCancellation)
  }

  /// Runs lines in order until one fails, the timeout elapses or the job is asked to stop (when
  /// a control is given). Once the job is asked to stop, that is the step's result, whatever
  /// the command then returns. A command asked to stop is cancelled and waited for, so that it
  /// can clean up, but only for the grace period: then the step ends without it.
  private func run(
    _ lines: [String], timeout: Duration?, context: any JobContext, control: JobControl?,
    progress: (any ScriptProgress)? = nil
  ) async -> StepResult {
    // The first of the command's end, the timeout and the job's cancellation decides. One latch
    // they all set, so that a waiting job keeps one task for its timeout rather than a task for
    // each (issue 10: a thousand jobs waiting in LAVA's queue).
    let finished = Latch<StepResult>()
    let first = Latch<StepResult>()
    let command = Task {
      let result = await runLines(lines, context: context, progress: progress)
      finished.set(result)
      first.set(result)
    }
    control?.whenCanceled { first.set(.interrupted($0)) }
    var decided: StepResult = await withTaskGroup(of: Void.self) { group in
      if let timeout {
        group.addTask {
          guard (try? await Task.sleep(for: timeout)) != nil else { return }
          control?.cancel(.timedOut)
          first.set(.interrupted(.timedOut))
        }
      }
      // Nil when this task is cancelled first: the runner is shutting down.
      let decided = await first.wait() ?? .interrupted(.runnerShutdown)
      group.cancelAll()
      return decided
    }
    if let reason = control?.cancellation { decided = .interrupted(reason) }
    if finished.value == nil {
      command.cancel()
      if await Self.wait(for: finished, upTo: cancellationGracePeriod) == nil {
        await context.log.warning(
          "the command did not stop within \(Self.format(cancellationGracePeriod)) of being asked to; "
            + "reporting the job without waiting for it any longer")
      }
    }
    return decided
  }

  private func runLines(_ lines: [String], context: any JobContext, progress: (any ScriptProgress)?) async
    -> StepResult
  {
    do {
      if let progress {
        try await interpreter.run(lines, in: context, progress: progress)
        return .succeeded
      }
      for line in lines {
        try Task.checkCancellation()
        try await interpreter.run(line, in: context)
      }
      return .succeeded
    } catch {
      return .failed(error)
    }
  }

  /// The step's result once it is set, or `nil` after `grace`; waits even when the calling task
  /// is cancelled, since the job must still be reported.
  private static func wait(for finished: Latch<StepResult>, upTo grace: Duration) async -> StepResult? {
    await Task {
      await withTaskGroup(of: StepResult?.self) { group in
        group.addTask { await finished.wait() }
        group.addTask {
          try? await Task.sleep(for: grace)
          return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
      }
    }.value
  }

  private static func afterScriptRuns(after result: StepResult) -> Bool {
    switch result {
    case .succeeded, .failed, .interrupted(.timedOut), .interrupted(.canceledGracefully): true
    case .interrupted(.canceledImmediately), .interrupted(.runnerShutdown): false
    }
  }

  private func verdict(for reason: JobCancellation, timeout: Duration?) -> JobVerdict {
    switch reason {
    case .timedOut:
      JobVerdict(
        outcome: .failed(.jobExecutionTimeout),
        summary: "execution took longer than \(timeout.map(Self.format) ?? "its timeout")")
    case .canceledGracefully, .canceledImmediately:
      // GitLab has already marked the job canceled; it keeps that state whatever we report.
      JobVerdict(outcome: .failed(.scriptFailure), summary: cancellationSummary)
    case .runnerShutdown:
      JobVerdict(outcome: .failed(.runnerInterrupted), summary: "the runner is shutting down")
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
}
