import Foundation

/// A job the test puts in the fake GitLab's queue, built like GitLab builds its job payload from
/// `.gitlab-ci.yml`: `before_script` and `script` become the `script` step, `after_script` its own
/// step with its own timeout.
public struct FakeJob: Sendable {
  public var id: Int64?
  public var name: String = "lava-test"
  public var stage: String = "test"
  public var beforeScript: [String] = []
  public var script: [String] = []
  public var afterScript: [String] = []
  public var afterScriptTimeout: Int = 300
  /// Seconds: the job's timeout (`runner_info.timeout` and the `script` step's timeout).
  public var timeout: Int = 3600
  public var variables: [Variable] = []
  public var artifacts: [Artifact] = []
  public var dependencies: [Dependency] = []
  /// Features GitLab requires from the runner besides the ones the job implies
  /// (`upload_multiple_artifacts` for reports, `artifacts_exclude` for `exclude`).
  public var requiredRunnerFeatures: Set<String> = []

  public init(id: Int64? = nil, name: String = "lava-test", script: [String] = []) {
    self.id = id
    self.name = name
    self.script = script
  }

  public struct Variable: Sendable, Equatable {
    public var key: String
    public var value: String
    public var isPublic: Bool
    public var masked: Bool
    public var file: Bool
    public var raw: Bool

    public init(
      _ key: String, _ value: String, isPublic: Bool = false, masked: Bool = false, file: Bool = false,
      raw: Bool = false
    ) {
      self.key = key
      self.value = value
      self.isPublic = isPublic
      self.masked = masked
      self.file = file
      self.raw = raw
    }
  }

  public struct Artifact: Sendable, Equatable {
    public var name: String?
    public var untracked: Bool = false
    public var paths: [String]
    public var exclude: [String]?
    public var when: String = "on_success"
    public var artifactType: String = "archive"
    public var artifactFormat: String = "zip"
    public var expireIn: String?

    public init(
      name: String? = nil, paths: [String], exclude: [String]? = nil, when: String = "on_success",
      artifactType: String = "archive", artifactFormat: String = "zip", expireIn: String? = nil
    ) {
      self.name = name
      self.paths = paths
      self.exclude = exclude
      self.when = when
      self.artifactType = artifactType
      self.artifactFormat = artifactFormat
      self.expireIn = expireIn
    }

    /// `artifacts:reports:dotenv` as GitLab sends it (`Ci::BuildRunnerPresenter#create_reports`):
    /// its own entry named `.env.gz`, gzip format, always uploaded.
    public static func dotenv(paths: [String]) -> Artifact {
      Artifact(name: ".env.gz", paths: paths, when: "always", artifactType: "dotenv", artifactFormat: "gzip")
    }

    /// `artifacts:reports:junit` as GitLab sends it: its own entry, gzip format, always uploaded.
    public static func junit(paths: [String], expireIn: String? = nil) -> Artifact {
      Artifact(
        name: "junit", paths: paths, when: "always", artifactType: "junit", artifactFormat: "gzip",
        expireIn: expireIn)
    }
  }

  /// How the fake answers `GET jobs/:id/artifacts` for a dependency.
  public enum ArchiveSource: Sendable {
    case zip(Data)
    /// Built with ZIPFoundation from `[path: content]`.
    case files([String: String])
    /// Listed with an `artifacts_file`, but the download answers 404 (expired meanwhile).
    case missing
    /// Listed with an `artifacts_file`, but the download answers 403.
    case forbidden
  }

  public struct Dependency: Sendable {
    public var id: Int64
    public var name: String
    /// The token the payload gives for this dependency; nil: a fresh random one.
    public var token: String?
    /// Give the running job's own token instead, as GitLab does with its
    /// `ci_expose_running_job_token_for_artifacts` feature.
    public var usesRunningJobToken: Bool = false
    public var archive: ArchiveSource
    public var filename: String = "artifacts.zip"
    /// Answer the download with a 302 to the second fake host (object storage).
    public var viaObjectStorage: Bool = false

    public init(
      id: Int64, name: String, token: String? = nil, usesRunningJobToken: Bool = false,
      archive: ArchiveSource,
      viaObjectStorage: Bool = false
    ) {
      self.id = id
      self.name = name
      self.token = token
      self.usesRunningJobToken = usesRunningJobToken
      self.archive = archive
      self.viaObjectStorage = viaObjectStorage
    }
  }

  // Builder style, so a test reads like the job's YAML.
  public func with(_ change: (inout FakeJob) -> Void) -> FakeJob {
    var copy = self
    change(&copy)
    return copy
  }

  public func variable(_ variable: Variable) -> FakeJob { with { $0.variables.append(variable) } }
  public func artifact(_ artifact: Artifact) -> FakeJob { with { $0.artifacts.append(artifact) } }
  public func dependency(_ dependency: Dependency) -> FakeJob { with { $0.dependencies.append(dependency) } }

  var impliedRunnerFeatures: Set<String> {
    var features = requiredRunnerFeatures
    if artifacts.contains(where: { $0.artifactType != "archive" }) {
      features.insert("upload_multiple_artifacts")
    }
    if artifacts.contains(where: { !($0.exclude ?? []).isEmpty }) {
      features.insert("artifacts_exclude")
    }
    return features
  }
}

/// What the test gets back when it enqueues a job: the id and the job token the runner will get.
public struct EnqueuedJob: Sendable, Equatable {
  public let id: Int64
  public let token: String
}

/// A job's state in the fake, named as GitLab names build statuses.
public enum FakeJobStatus: String, Sendable, Equatable {
  case pending, running, canceling, success, failed, canceled

  var isProcessingOnRunner: Bool { self == .running || self == .canceling }
  var isFinished: Bool { self == .success || self == .failed || self == .canceled }
}

/// How a job ended, as GitLab recorded it.
public struct FakeJobResult: Sendable, Equatable {
  public var status: FakeJobStatus
  /// The `state` the runner sent in its final update (nil when the job never got one).
  public var reportedState: String?
  public var failureReason: String?
  public var exitCode: Int?

  public init(status: FakeJobStatus, reportedState: String?, failureReason: String?, exitCode: Int?) {
    self.status = status
    self.reportedState = reportedState
    self.failureReason = failureReason
    self.exitCode = exitCode
  }
}
