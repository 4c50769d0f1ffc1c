import ArgumentParser
import Dispatch
import Foundation
import Logging

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
    let logger = RunnerLogging.logger(level: settings.logLevel, secrets: [settings.connection.token])
    let http: HTTPClient
    do {
      http = try HTTPClient(configuration: settings.httpConfiguration)
    } catch {
      throw CLIError("cannot start the HTTP client: \(error)")
    }
    defer { http.shutdown() }

    let masker = SecretMasker(secrets: [settings.connection.token])
    let client = GitLabClient(
      instance: settings.connection.url, http: http,
      identity: RunnerIdentity(name: settings.name, systemID: RunnerIdentity.systemID()),
      runnerToken: settings.connection.token, scrub: { masker.mask($0) })
    let poller = JobPoller(
      client: client,
      runner: JobRunner(
        client: client, executor: JobExecutor(interpreter: ScriptInterpreter(registry: .builtIn())),
        settings: JobRunner.Settings(workRoot: settings.workDirectory), lava: LAVAConnections(http: http),
        logger: logger),
      concurrent: settings.concurrent, checkInterval: settings.checkInterval, logger: logger)

    let stop = RunnerStop()
    let signals = SignalHandlers(stop: stop, logger: logger)
    defer { signals.cancel() }
    logger.info(
      "lava-runner started",
      metadata: [
        "gitlab": "\(settings.connection.url.absoluteString)", "concurrent": "\(settings.concurrent)",
        "system_id": "\(client.identity.systemID)",
      ])
    do {
      try await poller.run(until: stop)
    } catch {
      logger.critical("stopping: \(masker.mask(error.description))")
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

  @Option(help: "PEM file of CAs to trust for GitLab and LAVA (env: RUNNER_TLS_CA_FILE, then SSL_CERT_FILE).")
  var tlsCaFile: String?

  @Option(help: "PEM client certificate for TLS client authentication (env: RUNNER_TLS_CERT_FILE).")
  var tlsCertFile: String?

  @Option(help: "PEM private key of the client certificate (env: RUNNER_TLS_KEY_FILE).")
  var tlsKeyFile: String?

  @Flag(
    help: """
      Do not verify TLS certificates: anyone in between can read every token. Only for test \
      setups (env: RUNNER_TLS_INSECURE_SKIP_VERIFY=true).
      """)
  var tlsInsecureSkipVerify = false

  @Option(
    help:
      "The runner's own log level: trace, debug, info, notice, warning, error, critical (env: RUNNER_LOG_LEVEL; default info)."
  )
  var logLevel: String?
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

    var http = HTTPClientConfiguration()
    http.proxy = .environment(environment)
    if let ca = options.tlsCaFile ?? env("RUNNER_TLS_CA_FILE") ?? env("SSL_CERT_FILE") {
      guard FileManager.default.isReadableFile(atPath: ca) else {
        throw .invalid("tls-ca-file", ca, expected: "a readable PEM file")
      }
      http.tls.caBundle = URL(fileURLWithPath: ca)
    }
    if let cert = options.tlsCertFile ?? env("RUNNER_TLS_CERT_FILE") {
      guard let key = options.tlsKeyFile ?? env("RUNNER_TLS_KEY_FILE") else {
        throw .invalid("tls-key-file", "", expected: "the key of the client certificate \(cert)")
      }
      http.tls.clientCertificate = URL(fileURLWithPath: cert)
      http.tls.clientKey = URL(fileURLWithPath: key)
    }
    http.tls.insecureSkipVerify =
      options.tlsInsecureSkipVerify || env("RUNNER_TLS_INSECURE_SKIP_VERIFY")?.lowercased() == "true"
    httpConfiguration = http

    let levelText = options.logLevel ?? env("RUNNER_LOG_LEVEL") ?? "info"
    guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
      throw .invalid(
        "log-level", levelText, expected: "trace, debug, info, notice, warning, error or critical")
    }
    logLevel = level
  }
}

/// SIGQUIT: stop taking jobs. SIGTERM, SIGINT: also end the running ones. A second signal
/// exits at once.
final class SignalHandlers {
  private let sources: [any DispatchSourceSignal]

  init(stop: RunnerStop, logger: Logger) {
    let seen = Latch<Int32>()
    var sources: [any DispatchSourceSignal] = []
    for number in [SIGQUIT, SIGTERM, SIGINT] {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        if !seen.set(number) {
          logger.warning("second signal: exiting now")
          exit(1)
        }
        if number == SIGQUIT {
          logger.notice("SIGQUIT: taking no more jobs; waiting for the running ones to finish")
          stop.graceful()
        } else {
          logger.notice("stop signal: taking no more jobs and ending the running ones")
          stop.abort()
        }
      }
      source.resume()
      sources.append(source)
    }
    self.sources = sources
  }

  func cancel() {
    for source in sources { source.cancel() }
  }
}
