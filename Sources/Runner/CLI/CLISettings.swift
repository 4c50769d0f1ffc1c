import Foundation

/// Every setting of the command line, each declared once (see `CLISetting`).
extension CLISetting {
  // MARK: GitLab

  static let gitLabURL = CLISetting(
    argument: "url", summary: "The GitLab instance, e.g. https://gitlab.example.com",
    environment: ["GITLAB_URL"])
  static let runnerToken = CLISetting(
    argument: "token", summary: "The runner authentication token, glrt-…", environment: ["GITLAB_TOKEN"])

  // MARK: TLS, for GitLab and LAVA

  static let tlsCAFile = CLISetting(
    option: "tls-ca-file", summary: "PEM file of CAs to trust for GitLab and LAVA",
    environment: ["RUNNER_TLS_CA_FILE", "SSL_CERT_FILE"], default: .unset("the system's CAs"))
  static let tlsCertFile = CLISetting(
    option: "tls-cert-file", summary: "PEM client certificate for TLS client authentication",
    environment: ["RUNNER_TLS_CERT_FILE"])
  static let tlsKeyFile = CLISetting(
    option: "tls-key-file", summary: "PEM private key of the client certificate",
    environment: ["RUNNER_TLS_KEY_FILE"])
  static let tlsInsecureSkipVerify = CLISetting(
    option: "tls-insecure-skip-verify",
    summary:
      "Do not verify TLS certificates: anyone in between can read the token. Only for test setups",
    environment: ["RUNNER_TLS_INSECURE_SKIP_VERIFY"], default: .value("off"), flag: .onlyOn)

  // MARK: run

  static let concurrent = CLISetting(
    option: "concurrent", summary: "How many jobs to run at once", environment: ["RUNNER_CONCURRENT"],
    default: .value("64"))
  static let checkInterval = CLISetting(
    option: "check-interval", summary: "Seconds between job requests when GitLab has none",
    environment: ["RUNNER_CHECK_INTERVAL"], default: .value("3"))
  static let name = CLISetting(
    option: "name", summary: "The runner's name in job logs", environment: ["RUNNER_NAME"],
    default: .computed(description: "the host name") { _ in ProcessInfo.processInfo.hostName })
  static let workDir = CLISetting(
    option: "work-dir", summary: "Folder for the jobs' temporary files", environment: ["RUNNER_WORK_DIR"],
    default: .computed(description: "the system's temporary folder") { _ in
      FileManager.default.temporaryDirectory.path
    })
  static let systemIDFile = CLISetting(
    option: "system-id-file",
    summary: "File that keeps the runner's system_id, as the official runner's .runner_system_id: read "
      + "when it exists, else made with a new random id. One per replica gives each its own runner "
      + "manager in GitLab",
    environment: ["RUNNER_SYSTEM_ID_FILE"],
    default: .unset("an id derived from /etc/machine-id, else the host name"))
  static let logLevel = CLISetting(
    option: "log-level",
    summary: "The runner's own log level: trace, debug, info, notice, warning, error, critical",
    environment: ["RUNNER_LOG_LEVEL"], default: .value("info"))
  static let logFormat = CLISetting(
    option: "log-format", summary: "The runner's own log format: text or json",
    environment: ["RUNNER_LOG_FORMAT"],
    default: .unset("text on a terminal, json otherwise"))
  static let lavaMaxConcurrentRequests = CLISetting(
    option: "lava-max-concurrent-requests",
    summary: "Requests in flight at once to one LAVA server, for all jobs",
    environment: ["RUNNER_LAVA_MAX_CONCURRENT_REQUESTS"], default: .value("4"))
  static let lavaOutageTimeout = CLISetting(
    option: "lava-outage-timeout",
    summary: "How long a job waits out an unreachable or failing LAVA server before it fails "
      + "(90s, 10m, 1h 30m or seconds); a job's LAVA_OUTAGE_TIMEOUT overrides it",
    environment: ["RUNNER_LAVA_OUTAGE_TIMEOUT"], default: .value("10m"))
  static let lavaEvents = CLISetting(
    option: "lava-events",
    summary: "auto: follow each LAVA server's event stream (<LAVA_URL>/ws/) to learn job state changes "
      + "at once, polling when it is absent; off: poll only",
    environment: ["RUNNER_LAVA_EVENTS"], default: .value("auto"))
  static let listenAddress = CLISetting(
    option: "listen-address", summary: "Serve /metrics, /health/live and /health/ready here, e.g. :9252",
    environment: ["RUNNER_LISTEN_ADDRESS"], default: .unset("off"))
  static let stateDir = CLISetting(
    option: "state-dir",
    summary: "Folder where the runner keeps a record of every job it holds (job tokens and variables "
      + "included), so that a runner restarted after its own death resumes them; on a volume that "
      + "outlives the process, used by one runner only",
    environment: ["RUNNER_STATE_DIR"], default: .unset("off"))
  static let shutdownTimeout = CLISetting(
    option: "shutdown-timeout", summary: "Seconds a stop signal waits for the running jobs before exiting",
    environment: ["RUNNER_SHUTDOWN_TIMEOUT"], default: .value("30"))

  // MARK: register (environment variables as the official runner names them)

  static let registrationToken = CLISetting(
    option: "registration-token",
    summary:
      "A registration token from Settings > CI/CD > Runners (deprecated since GitLab 15.6, disabled by default since 17.0)",
    environment: ["REGISTRATION_TOKEN"])
  static let createdRunnerToken = CLISetting(
    option: "token", summary: "The glrt- token of a runner created in GitLab: verified, not registered",
    environment: ["GITLAB_TOKEN"])
  static let description = CLISetting(
    option: "description", summary: "The runner's description in GitLab", environment: ["RUNNER_DESCRIPTION"],
    default: .computed(description: "RUNNER_NAME, else the host name") {
      $0["RUNNER_NAME"] ?? ProcessInfo.processInfo.hostName
    })
  static let tagList = CLISetting(
    option: "tag-list", summary: "Comma-separated tags, e.g. lava,imx8mp", environment: ["RUNNER_TAG_LIST"])
  static let runUntagged = CLISetting(
    option: "run-untagged", summary: "Also take jobs without tags", environment: ["REGISTER_RUN_UNTAGGED"],
    default: .value("off"), flag: .onlyOn)
  static let locked = CLISetting(
    option: "locked", summary: "Lock the runner to the project it is registered in",
    environment: ["REGISTER_LOCKED"], default: .value("on"), flag: .onOrOff)
  static let paused = CLISetting(
    option: "paused", summary: "Register the runner paused: it takes no jobs until resumed",
    environment: ["REGISTER_PAUSED"], default: .value("off"), flag: .onlyOn)
  static let maintenanceNote = CLISetting(
    option: "maintenance-note", summary: "A note for GitLab administrators, at most 1024 characters",
    environment: ["REGISTER_MAINTENANCE_NOTE"])
  static let accessLevel = CLISetting(
    option: "access-level",
    summary: "not_protected, or ref_protected to take jobs of protected branches and tags only",
    environment: ["REGISTER_ACCESS_LEVEL"], default: .unset("GitLab's, not_protected"))
  static let maximumTimeout = CLISetting(
    option: "maximum-timeout", summary: "Longest time in seconds a job may run on this runner, 600 or more",
    environment: ["REGISTER_MAXIMUM_TIMEOUT"])
}

/// A subcommand that reads settings from options and the environment: the settings it
/// declares, for its help and for the test that keeps help and resolution together.
protocol DeclaresSettings {
  static var settings: [CLISetting] { get }
}
