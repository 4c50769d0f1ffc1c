import ArgumentParser
import Foundation
import GitLabAPI
import HTTP
import JobEngine
import LAVA
import Logging
import Protocols
import RunnerCore
import ServiceLifecycle
import YAML

/// `lava-runner run URL TOKEN`, also reached as `lava-runner URL TOKEN` as the original
/// lava-gitlab-runner documents it.
struct RunSubcommand: AsyncParsableCommand, DeclaresSettings {
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

  static let settings = GitLabOptions.settings + RunOptions.settings

  @OptionGroup var gitlab: GitLabOptions

  @OptionGroup var options: RunOptions

  func run() async throws {
    let environment = ProcessInfo.processInfo.environment
    let settings: RunSettings
    do {
      settings = try RunSettings(gitlab: gitlab, options: options, environment: environment)
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

    let metrics = RunnerMetrics()
    let health = RunnerHealth()
    let masker = SecretMasker(secrets: [settings.connection.token])
    let systemID: String
    do {
      systemID = try settings.systemIDFile.map(RunnerIdentity.systemID(file:)) ?? RunnerIdentity.systemID()
    } catch {
      throw CLIError(error)
    }
    var client = GitLabClient(
      instance: settings.connection.url, http: http,
      identity: RunnerIdentity(name: settings.name, systemID: systemID),
      runnerToken: settings.connection.token, mask: { masker.mask($0) })
    client.metrics = metrics
    var jobSettings = JobRunner.Settings(workRoot: settings.workDirectory)
    jobSettings.finalUpdatePatience = min(jobSettings.finalUpdatePatience, settings.shutdownTimeout)
    if let stateDirectory = settings.stateDirectory {
      do {
        jobSettings.stateDirectory = try StateDirectory(stateDirectory)
      } catch {
        await http.shutdown()
        throw CLIError(error)
      }
    }
    var poller = JobPoller(
      client: client,
      runner: JobRunner(
        client: client, executor: JobExecutor(interpreter: ScriptInterpreter(registry: .builtIn())),
        settings: jobSettings,
        lava: LAVAConnections(
          http: http, metrics: metrics, maxConcurrentRequests: settings.lavaMaxConcurrentRequests,
          outagePatience: settings.lavaOutageTimeout, events: settings.lavaEvents),
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
        "lava_outage_timeout": "\(DurationText.format(settings.lavaOutageTimeout))",
        "state_dir": "\(settings.stateDirectory?.path ?? "off")",
        "lava_events": "\(settings.lavaEvents ? "auto" : "off")",
      ])
    var groupLogger = logger
    groupLogger.logLevel = max(logger.logLevel, .warning)
    let group = ServiceGroup(configuration: .init(services: services, logger: groupLogger))
    do {
      try await group.run()
    } catch {
      logger.critical("stopping: \(masker.mask(String(describing: error)))")
      await http.shutdown()
      throw ExitCode(1)
    }
    await http.shutdown()
    logger.info("lava-runner stopped")
  }
}

/// The options of `run`, each with its environment variable.
struct RunOptions: ParsableArguments {
  static let settings: [CLISetting] = [
    .concurrent, .checkInterval, .name, .workDir, .systemIDFile, .logLevel, .logFormat,
    .lavaMaxConcurrentRequests, .lavaOutageTimeout, .lavaEvents,
    .listenAddress, .shutdownTimeout, .stateDir,
  ]

  @Option(help: CLISetting.concurrent.help)
  var concurrent: Int?

  @Option(help: CLISetting.checkInterval.help)
  var checkInterval: Double?

  @Option(help: CLISetting.name.help)
  var name: String?

  @Option(help: CLISetting.workDir.help)
  var workDir: String?

  @Option(help: CLISetting.systemIDFile.help)
  var systemIDFile: String?

  @Option(help: CLISetting.logLevel.help)
  var logLevel: String?

  @Option(help: CLISetting.logFormat.help)
  var logFormat: String?

  @Option(help: CLISetting.lavaMaxConcurrentRequests.help)
  var lavaMaxConcurrentRequests: Int?

  @Option(help: CLISetting.lavaOutageTimeout.help)
  var lavaOutageTimeout: String?

  @Option(help: CLISetting.lavaEvents.help)
  var lavaEvents: String?

  @Option(help: CLISetting.listenAddress.help)
  var listenAddress: String?

  @Option(help: CLISetting.shutdownTimeout.help)
  var shutdownTimeout: Double?

  @Option(help: CLISetting.stateDir.help)
  var stateDir: String?
}

/// The validated settings of `run`: flags first, then the environment, then defaults.
struct RunSettings: Sendable {
  var connection: GitLabConnectionSettings
  var concurrent: Int
  var checkInterval: Duration
  var name: String
  var workDirectory: URL
  var systemIDFile: URL?
  var httpConfiguration: HTTPClientConfiguration
  var logLevel: Logger.Level
  var logFormat: RunnerLogging.Format?
  var listenAddress: ListenAddress?
  var shutdownTimeout: Duration
  var lavaMaxConcurrentRequests: Int
  var lavaOutageTimeout: Duration
  var stateDirectory: URL?
  /// Whether LAVA watchers follow the servers' event streams (`--lava-events auto`).
  var lavaEvents: Bool

  init(gitlab: GitLabOptions, options: RunOptions, environment values: [String: String]) throws(SettingsError)
  {
    let env = SettingsEnvironment(values)
    connection = try gitlab.connection(environment: values)

    concurrent = try CLISetting.concurrent.required(
      options.concurrent.map(String.init), in: env, expected: "a whole number from 1 to 10000"
    ) { Int($0).flatMap { (1...10_000).contains($0) ? $0 : nil } }

    let interval = try CLISetting.checkInterval.required(
      options.checkInterval.map { "\($0)" }, in: env, expected: "seconds from 0 to 3600"
    ) { Double($0).flatMap { (0...3600).contains($0) ? $0 : nil } }
    checkInterval = .milliseconds(Int64(interval * 1000))

    name = try CLISetting.name.required(options.name, in: env, expected: "a name") { $0 }

    workDirectory = try CLISetting.workDir.required(options.workDir, in: env, expected: "an existing folder")
    {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory), isDirectory.boolValue
      else {
        return nil
      }
      return URL(fileURLWithPath: $0, isDirectory: true)
    }

    systemIDFile = CLISetting.systemIDFile.resolve(options.systemIDFile, in: env).map {
      URL(fileURLWithPath: $0)
    }

    httpConfiguration = try gitlab.tls.httpConfiguration(environment: values)

    logLevel = try CLISetting.logLevel.required(
      options.logLevel, in: env, expected: "trace, debug, info, notice, warning, error or critical"
    ) { Logger.Level(rawValue: $0.lowercased()) }

    logFormat = try CLISetting.logFormat.resolve(options.logFormat, in: env, expected: "text or json") {
      RunnerLogging.Format(rawValue: $0.lowercased())
    }
    listenAddress = try (CLISetting.listenAddress.resolve(options.listenAddress, in: env)).map(
      ListenAddress.init(parsing:))

    let timeout = try CLISetting.shutdownTimeout.required(
      options.shutdownTimeout.map { "\($0)" }, in: env, expected: "seconds from 1 to 86400"
    ) { Double($0).flatMap { $0 > 0 && $0 <= 86400 ? $0 : nil } }
    shutdownTimeout = .milliseconds(Int64(timeout * 1000))

    lavaOutageTimeout = try CLISetting.lavaOutageTimeout.required(
      options.lavaOutageTimeout, in: env,
      expected: "a duration such as 90s, 10m or 1h 30m, or seconds, above zero"
    ) { DurationText.parse($0).flatMap { $0 > .zero ? $0 : nil } }

    lavaEvents = try CLISetting.lavaEvents.required(options.lavaEvents, in: env, expected: "auto or off") {
      switch $0.lowercased() {
      case "auto": true
      case "off": false
      default: nil
      }
    }

    lavaMaxConcurrentRequests = try CLISetting.lavaMaxConcurrentRequests.required(
      options.lavaMaxConcurrentRequests.map(String.init), in: env, expected: "a whole number from 1 to 256"
    ) { Int($0).flatMap { (1...256).contains($0) ? $0 : nil } }

    stateDirectory = CLISetting.stateDir.resolve(options.stateDir, in: env).flatMap {
      $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true)
    }
  }
}
