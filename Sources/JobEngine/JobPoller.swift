import Foundation
import GitLabAPI
import Logging
import Protocols
import RunnerCore
import Synchronization

/// How the runner is asked to stop.
package final class RunnerStop: Sendable {
  /// Take no more jobs (SIGQUIT, and the first step of every stop).
  package let stopTaking = Latch<Void>()
  /// Also end the running jobs, reporting `runner_interrupted` (SIGTERM, SIGINT).
  package let abortJobs = Latch<Void>()

  package init() {}

  package func graceful() { stopTaking.set(()) }

  package func abort() {
    stopTaking.set(())
    abortJobs.set(())
  }
}

/// The job loop: asks GitLab for jobs while it has room for one, and runs each in a child task.
package struct JobPoller: Sendable {
  package let client: GitLabClient
  package let runner: JobRunner
  package var concurrent: Int
  package var checkInterval: Duration
  package var backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(60))
  /// 403s in a row before the runner gives up: the token is wrong or the runner was removed.
  package var tokenRejectionsBeforeStop = 3
  package let logger: Logger
  package var health = RunnerHealth()

  /// Runs until `stop` says so and the running jobs have ended, or GitLab keeps refusing the
  /// runner token (then throws).
  package func run(until stop: RunnerStop) async throws(GitLabError) {
    let slots = Slots(concurrent)
    let jobsState = RunningJobs()
    let idle = Latch<Void>()
    var fatal: GitLabError?

    await withDiscardingTaskGroup { jobs in
      var lastUpdate: String?
      var rejections = 0
      var failures = 0
      // Jobs a previous runner held (the state directory) go first, each in a slot of its own.
      if let stateDirectory = runner.settings.stateDirectory {
        let (saved, corrupt) = stateDirectory.load(logger: logger)
        for job in corrupt { jobs.addTask { await runner.failUnreadable(job) } }
        if !saved.isEmpty {
          logger.info("resuming the jobs held before the restart", metadata: ["jobs": "\(saved.count)"])
        }
        for job in saved {
          guard await firstOf({ await slots.acquire() }, or: stop.stopTaking) == true else { break }
          let id = job.record.jobID
          let control = JobControl()
          let count = jobsState.withLock { state in
            state.controls[id] = control
            return state.controls.count
          }
          client.metrics.jobsRunning(count)
          if stop.abortJobs.value != nil { control.cancel(.runnerShutdown) }
          jobs.addTask {
            await runner.resume(job, control: control)
            slots.release()
            let (nowIdle, count) = jobsState.withLock { state in
              state.controls.removeValue(forKey: id)
              return (state.loopEnded && state.controls.isEmpty, state.controls.count)
            }
            client.metrics.jobsRunning(count)
            if nowIdle { idle.set(()) }
          }
        }
      }
      while stop.stopTaking.value == nil {
        guard await firstOf({ await slots.acquire() }, or: stop.stopTaking) == true else { break }
        let since = lastUpdate
        // A request in flight is only cut by an abort: GitLab may be assigning a job to it, and
        // a reply dropped then would leave that job running in GitLab with no runner.
        let reply = await firstOf(
          { () async -> Result<(GitLabClient.JobRequestReply, lastUpdate: String?), GitLabError> in
            do throws(GitLabError) {
              return .success(try await client.requestJob(lastUpdate: since))
            } catch {
              return .failure(error)
            }
          }, or: stop.abortJobs)
        guard let reply else {
          slots.release()
          break
        }
        switch reply {
        case .success((.job(let job), _)):
          health.jobRequest(succeeded: true)
          // The queue value that came with a job predates its assignment: more jobs may be
          // waiting, so the next request asks without it instead of long-polling.
          lastUpdate = nil
          (rejections, failures) = (0, 0)
          let control = JobControl()
          let count = jobsState.withLock { state in
            state.controls[job.id] = control
            return state.controls.count
          }
          client.metrics.jobsRunning(count)
          if stop.abortJobs.value != nil { control.cancel(.runnerShutdown) }
          jobs.addTask {
            await runner.run(job, control: control)
            slots.release()
            let (nowIdle, count) = jobsState.withLock { state in
              state.controls.removeValue(forKey: job.id)
              return (state.loopEnded && state.controls.isEmpty, state.controls.count)
            }
            client.metrics.jobsRunning(count)
            if nowIdle { idle.set(()) }
          }
        case .success((.noJob, let newLastUpdate)):
          health.jobRequest(succeeded: true)
          lastUpdate = newLastUpdate
          (rejections, failures) = (0, 0)
          slots.release()
          await pause(checkInterval, orStop: stop)
        case .failure(let error):
          health.jobRequest(succeeded: false)
          slots.release()
          if case .runnerTokenRejected = error {
            rejections += 1
            logger.error("GitLab refused the runner token", metadata: ["attempt": "\(rejections)"])
            if rejections >= tokenRejectionsBeforeStop {
              fatal = error
              stop.graceful()
              break
            }
          } else {
            failures += 1
            logger.warning(
              "asking GitLab for a job failed", metadata: ["error": "\(client.mask(error.description))"])
          }
          await pause(backoff.delay(attempt: max(failures, rejections)), orStop: stop)
        }
      }

      let stillRunning = jobsState.withLock { state in
        state.loopEnded = true
        return state.controls.count
      }
      logger.info("no longer taking jobs", metadata: ["running": "\(stillRunning)"])
      if stillRunning == 0 { idle.set(()) }
      // Until the running jobs end, an abort (SIGTERM after SIGQUIT) still reaches them.
      await withTaskGroup(of: Void.self) { group in
        group.addTask { _ = await idle.wait() }
        group.addTask { _ = await stop.abortJobs.wait() }
        await group.next()
        group.cancelAll()
      }
      if stop.abortJobs.value != nil {
        for control in jobsState.withLock({ Array($0.controls.values) }) { control.cancel(.runnerShutdown) }
      }
    }
    if let fatal { throw fatal }
  }

  private func pause(_ duration: Duration, orStop stop: RunnerStop) async {
    _ = await firstOf({ try? await Task.sleep(for: duration) }, or: stop.stopTaking)
  }

  package init(
    client: GitLabClient, runner: JobRunner, concurrent: Int, checkInterval: Duration,
    backoff: RetryPolicy = RetryPolicy(initial: .seconds(1), maximum: .seconds(60)),
    tokenRejectionsBeforeStop: Int = 3,
    logger: Logger, health: RunnerHealth = RunnerHealth()
  ) {
    self.backoff = backoff
    self.tokenRejectionsBeforeStop = tokenRejectionsBeforeStop
    self.health = health
    self.client = client
    self.runner = runner
    self.concurrent = concurrent
    self.checkInterval = checkInterval
    self.logger = logger
  }
}

/// The jobs the loop started and have not ended yet.
private final class RunningJobs: Sendable {
  struct State {
    package var controls: [Int64: JobControl] = [:]
    package var loopEnded = false
  }

  private let state = Mutex(State())

  func withLock<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
}

/// Runs `operation` unless `signal` is set first; nil when it was.
private func firstOf<T: Sendable>(_ operation: @escaping @Sendable () async -> T, or signal: Latch<Void>)
  async -> T?
{
  await withTaskGroup(of: T?.self) { group in
    group.addTask { await operation() }
    group.addTask {
      _ = await signal.wait()
      return nil
    }
    let first = await group.next() ?? nil
    group.cancelAll()
    return first
  }
}
