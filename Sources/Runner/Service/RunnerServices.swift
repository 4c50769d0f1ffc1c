import Foundation
import JobEngine
import Logging
import RunnerCore
import ServiceLifecycle
import UnixSignals

/// The job loop as a Service: it ends once told to stop and the running jobs have ended.
struct JobLoopService: Service {
  let poller: JobPoller
  let stop: RunnerStop

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await poller.run(until: stop)
    } onGracefulShutdown: {
      stop.graceful()
    }
  }
}

/// Turns signals into stops. SIGQUIT: take no more jobs, let the running ones finish.
/// SIGTERM, SIGINT: also end the running jobs (they report `runner_interrupted`), and exit
/// after `shutdownTimeout` whatever is left. A second signal exits at once.
struct SignalService: Service {
  let stop: RunnerStop
  let shutdownTimeout: Duration
  let logger: Logger
  /// How the process leaves when it cannot wait any longer; tests replace it.
  var forceExit: @Sendable (String) -> Void = { reason in
    FileHandle.standardError.write(Data("lava-runner: \(reason)\n".utf8))
    exit(1)
  }

  func run() async throws {
    let signals = await UnixSignalsSequence(trapping: .sigquit, .sigterm, .sigint)
    await cancelWhenGracefulShutdown {
      await withTaskGroup(of: Void.self) { group in
        var seen = false
        for await signal in signals {
          if seen {
            forceExit("second signal (\(signal)): exiting now")
            return
          }
          seen = true
          if signal == .sigquit {
            logger.notice("SIGQUIT: taking no more jobs; waiting for the running ones to finish")
            stop.graceful()
          } else {
            logger.notice(
              "stop signal: taking no more jobs and ending the running ones",
              metadata: ["signal": "\(signal)", "timeout_seconds": "\(shutdownTimeout.components.seconds)"])
            stop.abort()
            group.addTask { [shutdownTimeout, forceExit] in
              guard (try? await Task.sleep(for: shutdownTimeout)) != nil else { return }
              forceExit("the running jobs did not end within the shutdown timeout")
            }
          }
        }
        group.cancelAll()
      }
    }
  }
}
