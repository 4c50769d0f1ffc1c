import ArgumentParser
import Foundation
import GitLabAPI
import HTTP
import JobEngine
import LAVA
import Logging
import RunnerCore
import ServiceLifecycle

/// `lava-runner run URL TOKEN`, also reached as `lava-runner URL TOKEN` as the original
/// lava-gitlab-runner documents it.
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Take jobs from a GitLab instance and run their LAVA commands (the default).",
    discussion: """
      Every option can also be set through the environment variable named in its help; an \
      option on the command line wins. Prefer the environment for the token, since arguments \
      are visible to other users in the process list.

      Signals: SIGQUIT stops taking jobs and waits for the running ones; SIGTERM and SIGINT \
      also end the running jobs, reporting them to GitLab as runner_interrupted; a second \
      signal exits at once.
      """
  )

  @Argument(help: "The GitLab instance, e.g. https://gitlab.example.com (env: GITLAB_URL).")
  var url: String?

  @Argument(help: "The runner authentication token, glrt-… (env: GITLAB_TOKEN).")
  var token: String?

  @OptionGroup var options: RunOptions

  func run() async throws {
    let environment = ProcessInfo.processInfo.environment
    let settings: RunSettings
    do {
      settings = try RunSettings(url: url, token: token, options: options, environment: environment)
    } catch {
      throw CLIError(error)
    }
    let logger = RunnerLogging.logger(
      level: settings.logLevel, secrets: [settings.connection.token], format: settings.logFormat)
    if settings.httpConfiguration.tls.insecureSkipVerify {
      logger.warning(
        """
        TLS CERTIFICATES ARE NOT VERIFIED (--tls-insecure-skip-verify): anyone between this runner \
        and GitLab, LAVA or the artifact storage can read the runner token, job tokens and LAVA_TOKEN. \
        Give the servers' CA with --tls-ca-file instead.
        """)
    }
    let http: HTTPClient
    do {
      http = try HTTPClient(configuration: settings.httpConfiguration)
    } catch {
      throw CLIError("cannot start the HTTP client: \(error)")
    }
    defer { http.shutdown() }

    let metrics = RunnerMetrics()
    let health = RunnerHealth()
    let masker = SecretMasker(secrets: [settings.connection.token])
    var client = GitLabClient(
      instance: settings.connection.url, http: http,
      identity: RunnerIdentity(name: settings.name, systemID: RunnerIdentity.systemID()),
      runnerToken: settings.connection.token, scrub: { masker.mask($0) })
    client.metrics = metrics
    var jobSettings = JobRunner.Settings(workRoot: settings.workDirectory)
    jobSettings.finalUpdatePatience = min(jobSettings.finalUpdatePatience, settings.shutdownTimeout)
    var poller = JobPoller(
      client: client,
      runner: JobRunner(
        client: client, executor: JobExecutor(interpreter: ScriptInterpreter(registry: .builtIn())),
        settings: jobSettings,
        lava: LAVAConnections(http: http, maxConcurrentRequests: settings.lavaMaxConcurrentRequests),
        logger: logger),
      concurrent: settings.concurrent, checkInterval: settings.checkInterval, logger: logger)
    poller.health = health

    let stop = RunnerStop()
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(
        service: JobLoopService(poller: poller, stop: stop),
        successTerminationBehavior: .gracefullyShutdownGroup,
        failureTerminationBehavior: .gracefullyShutdownGroup),
      .init(service: SignalService(stop: stop, shutdownTimeout: settings.shutdownTimeout, logger: logger)),
    ]
    if let address = settings.listenAddress {
      services.append(
        .init(
          service: StatusServer(address: address, metrics: metrics, health: health) { port in
            logger.info("serving /metrics and /health", metadata: ["port": "\(port)"])
          }))
    }
    logger.info(
      "lava-runner started",
      metadata: [
        "gitlab": "\(settings.connection.url.absoluteString)", "concurrent": "\(settings.concurrent)",
        "system_id": "\(client.identity.systemID)",
      ])
    var groupLogger = logger
    groupLogger.logLevel = max(logger.logLevel, .warning)
    let group = ServiceGroup(configuration: .init(services: services, logger: groupLogger))
    do {
      try await group.run()
    } catch {
      logger.critical("stopping: \(masker.mask(String(describing: error)))")
      throw ExitCode(1)
    }
    logger.info("lava-runner stopped")
  }
}

/// The options of `run`, each with its environment variable.
struct RunOptions: ParsableArguments {
  @Option(help: "How many jobs to run at once (env: RUNNER_CONCURRENT; default 64).")
  var concurrent: Int?

  @Option(help: "Seconds between job requests when GitLab has none (env: RUNNER_CHECK_INTERVAL; default 3).")
  var checkInterval: Double?

  @Option(help: "The runner's name in job logs (env: RUNNER_NAME; default the host name).")
  var name: String?

  @Option(
    help:
      "Folder for the jobs' temporary files (env: RUNNER_WORK_DIR; default the system's temporary folder).")
  var workDir: String?

  @OptionGroup var tls: GitLabTLSOptions

  @Option(
    help:
      "The runner's own log level: trace, debug, info, notice, warning, error, critical (env: RUNNER_LOG_LEVEL; default info)."
  )
  var logLevel: String?

  @Option(
    help:
      "The runner's own log format: text or json (env: RUNNER_LOG_FORMAT; default text on a terminal, json otherwise)."
  )
  var logFormat: String?

  @Option(
    help:
      "Requests in flight at once to one LAVA server, for all jobs (env: RUNNER_LAVA_MAX_CONCURRENT_REQUESTS; default 4)."
  )
  var lavaMaxConcurrentRequests: Int?

  @Option(
    help:
      "Serve /metrics, /health/live and /health/ready here, e.g. :9252 (env: RUNNER_LISTEN_ADDRESS; default off)."
  )
  var listenAddress: String?

  @Option(
    help:
      "Seconds a stop signal waits for the running jobs before exiting (env: RUNNER_SHUTDOWN_TIMEOUT; default 30)."
  )
  var shutdownTimeout: Double?
}

/// The validated settings of `run`: flags first, then the environment, then defaults.
struct RunSettings: Sendable {
  var connection: GitLabConnectionSettings
  var concurrent: Int
  var checkInterval: Duration
  var name: String
  var workDirectory: URL
  var httpConfiguration: HTTPClientConfiguration
  var logLevel: Logger.Level
  var logFormat: RunnerLogging.Format?
  var listenAddress: ListenAddress?
  var shutdownTimeout: Duration
  var lavaMaxConcurrentRequests: Int

  init(url: String?, token: String?, options: RunOptions, environment: [String: String]) throws(SettingsError)
  {
    func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    connection = try GitLabConnectionSettings(url: url, token: token, environment: environment)

    let concurrentText = options.concurrent.map(String.init) ?? env("RUNNER_CONCURRENT") ?? "64"
    guard let concurrent = Int(concurrentText), (1...10_000).contains(concurrent) else {
      throw .invalid("concurrent", concurrentText, expected: "a whole number from 1 to 10000")
    }
    self.concurrent = concurrent

    let intervalText = options.checkInterval.map { "\($0)" } ?? env("RUNNER_CHECK_INTERVAL") ?? "3"
    guard let interval = Double(intervalText), interval >= 0, interval <= 3600 else {
      throw .invalid("check-interval", intervalText, expected: "seconds from 0 to 3600")
    }
    checkInterval = .milliseconds(Int64(interval * 1000))

    name = options.name ?? env("RUNNER_NAME") ?? ProcessInfo.processInfo.hostName

    let work = options.workDir ?? env("RUNNER_WORK_DIR") ?? FileManager.default.temporaryDirectory.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: work, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw .invalid("work-dir", work, expected: "an existing folder")
    }
    workDirectory = URL(fileURLWithPath: work, isDirectory: true)

    httpConfiguration = try options.tls.httpConfiguration(environment: environment)

    let levelText = options.logLevel ?? env("RUNNER_LOG_LEVEL") ?? "info"
    guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
      throw .invalid(
        "log-level", levelText, expected: "trace, debug, info, notice, warning, error or critical")
    }
    logLevel = level

    if let formatText = options.logFormat ?? env("RUNNER_LOG_FORMAT") {
      guard let format = RunnerLogging.Format(rawValue: formatText.lowercased()) else {
        throw .invalid("log-format", formatText, expected: "text or json")
      }
      logFormat = format
    }
    listenAddress = try (options.listenAddress ?? env("RUNNER_LISTEN_ADDRESS")).map(
      ListenAddress.init(parsing:))

    let timeoutText = options.shutdownTimeout.map { "\($0)" } ?? env("RUNNER_SHUTDOWN_TIMEOUT") ?? "30"
    guard let timeout = Double(timeoutText), timeout > 0, timeout <= 86400 else {
      throw .invalid("shutdown-timeout", timeoutText, expected: "seconds from 1 to 86400")
    }
    shutdownTimeout = .milliseconds(Int64(timeout * 1000))

    let capText =
      options.lavaMaxConcurrentRequests.map(String.init) ?? env("RUNNER_LAVA_MAX_CONCURRENT_REQUESTS") ?? "4"
    guard let cap = Int(capText), (1...256).contains(cap) else {
      throw .invalid("lava-max-concurrent-requests", capText, expected: "a whole number from 1 to 256")
    }
    lavaMaxConcurrentRequests = cap
  }
}
