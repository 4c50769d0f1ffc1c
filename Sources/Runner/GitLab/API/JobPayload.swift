import Protocols

/// The job GitLab hands the runner in reply to `POST /api/v4/jobs/request` (201): only the parts
/// lava-runner uses. Unknown fields are ignored and most fields may be absent or null.
struct JobPayload: Decodable, Sendable, Equatable {
  /// Job ids can exceed 2^32.
  var id: Int64
  /// The job token: authenticates every per-job call. A secret.
  var token: String
  var jobInfo: JobInfo
  var runnerInfo: RunnerInfo
  var variables: [JobVariable]
  var steps: [Step]
  var artifacts: [ArtifactSpec]
  var dependencies: [Dependency]
  var features: JobFeatures

  struct JobInfo: Decodable, Sendable, Equatable {
    var name: String
    var stage: String
    var projectID: Int64?
    var projectName: String

    enum CodingKeys: String, CodingKey {
      case name, stage
      case projectID = "project_id"
      case projectName = "project_name"
    }

    init(name: String = "", stage: String = "", projectID: Int64? = nil, projectName: String = "") {
      self.name = name
      self.stage = stage
      self.projectID = projectID
      self.projectName = projectName
    }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
      stage = try c.decodeIfPresent(String.self, forKey: .stage) ?? ""
      projectID = try c.decodeIfPresent(Int64.self, forKey: .projectID)
      projectName = try c.decodeIfPresent(String.self, forKey: .projectName) ?? ""
    }
  }

  struct RunnerInfo: Decodable, Sendable, Equatable {
    /// The job's timeout in seconds, as set in the project or the runner.
    var timeout: Int?

    init(timeout: Int? = nil) { self.timeout = timeout }
  }

  struct Step: Decodable, Sendable, Equatable {
    /// `script` (GitLab joins `before_script` into it) or `after_script`.
    var name: String
    var script: [String]
    /// Seconds; `after_script` has its own.
    var timeout: Int?
    /// `on_success`, `on_failure` or `always`.
    var when: String
    var allowFailure: Bool

    enum CodingKeys: String, CodingKey {
      case name, script, timeout, when
      case allowFailure = "allow_failure"
    }

    init(
      name: String, script: [String], timeout: Int? = nil, when: String = "on_success",
      allowFailure: Bool = false
    ) {
      self.name = name
      self.script = script
      self.timeout = timeout
      self.when = when
      self.allowFailure = allowFailure
    }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      name = try c.decode(String.self, forKey: .name)
      script = try c.decodeIfPresent([String].self, forKey: .script) ?? []
      timeout = try c.decodeIfPresent(Int.self, forKey: .timeout)
      when = try c.decodeIfPresent(String.self, forKey: .when) ?? "on_success"
      allowFailure = try c.decodeIfPresent(Bool.self, forKey: .allowFailure) ?? false
    }
  }

  /// One entry of the job's `artifacts:` (an archive, or one report type).
  struct ArtifactSpec: Decodable, Sendable, Equatable {
    var name: String?
    var untracked: Bool
    var paths: [String]
    var exclude: [String]
    /// `on_success`, `on_failure` or `always`.
    var when: String
    /// `archive`, `junit`, …
    var artifactType: String
    /// `zip`, `gzip`, `raw`.
    var artifactFormat: String
    var expireIn: String?

    enum CodingKeys: String, CodingKey {
      case name, untracked, paths, exclude, when
      case artifactType = "artifact_type"
      case artifactFormat = "artifact_format"
      case expireIn = "expire_in"
    }

    init(
      name: String? = nil, untracked: Bool = false, paths: [String], exclude: [String] = [],
      when: String = "on_success", artifactType: String = "archive", artifactFormat: String = "zip",
      expireIn: String? = nil
    ) {
      self.name = name
      self.untracked = untracked
      self.paths = paths
      self.exclude = exclude
      self.when = when
      self.artifactType = artifactType
      self.artifactFormat = artifactFormat
      self.expireIn = expireIn
    }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      name = try c.decodeIfPresent(String.self, forKey: .name)
      untracked = try c.decodeIfPresent(Bool.self, forKey: .untracked) ?? false
      paths = try c.decodeIfPresent([String].self, forKey: .paths) ?? []
      exclude = try c.decodeIfPresent([String].self, forKey: .exclude) ?? []
      when = try c.decodeIfPresent(String.self, forKey: .when) ?? "on_success"
      artifactType = try c.decodeIfPresent(String.self, forKey: .artifactType) ?? "archive"
      artifactFormat = try c.decodeIfPresent(String.self, forKey: .artifactFormat) ?? "zip"
      expireIn = try c.decodeIfPresent(String.self, forKey: .expireIn)
    }
  }

  /// A job whose artifacts this job may read; its token is a secret.
  struct Dependency: Decodable, Sendable, Equatable {
    var id: Int64
    var name: String
    var token: String
    var artifactsFile: ArtifactsFile?

    struct ArtifactsFile: Decodable, Sendable, Equatable {
      var filename: String?
      var size: Int64?
    }

    enum CodingKeys: String, CodingKey {
      case id, name, token
      case artifactsFile = "artifacts_file"
    }
  }

  struct JobFeatures: Decodable, Sendable, Equatable {
    var traceSections: Bool
    var tokenMaskPrefixes: [String]
    var failureReasons: [String]

    enum CodingKeys: String, CodingKey {
      case traceSections = "trace_sections"
      case tokenMaskPrefixes = "token_mask_prefixes"
      case failureReasons = "failure_reasons"
    }

    init(traceSections: Bool = true, tokenMaskPrefixes: [String] = [], failureReasons: [String] = []) {
      self.traceSections = traceSections
      self.tokenMaskPrefixes = tokenMaskPrefixes
      self.failureReasons = failureReasons
    }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      traceSections = try c.decodeIfPresent(Bool.self, forKey: .traceSections) ?? false
      tokenMaskPrefixes = try c.decodeIfPresent([String].self, forKey: .tokenMaskPrefixes) ?? []
      failureReasons = try c.decodeIfPresent([String].self, forKey: .failureReasons) ?? []
    }
  }

  enum CodingKeys: String, CodingKey {
    case id, token, variables, steps, artifacts, dependencies, features
    case jobInfo = "job_info"
    case runnerInfo = "runner_info"
  }

  init(
    id: Int64, token: String, jobInfo: JobInfo = JobInfo(), runnerInfo: RunnerInfo = RunnerInfo(),
    variables: [JobVariable] = [], steps: [Step] = [], artifacts: [ArtifactSpec] = [],
    dependencies: [Dependency] = [], features: JobFeatures = JobFeatures()
  ) {
    self.id = id
    self.token = token
    self.jobInfo = jobInfo
    self.runnerInfo = runnerInfo
    self.variables = variables
    self.steps = steps
    self.artifacts = artifacts
    self.dependencies = dependencies
    self.features = features
  }

  init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    id = try c.decode(Int64.self, forKey: .id)
    token = try c.decode(String.self, forKey: .token)
    jobInfo = try c.decodeIfPresent(JobInfo.self, forKey: .jobInfo) ?? JobInfo()
    runnerInfo = try c.decodeIfPresent(RunnerInfo.self, forKey: .runnerInfo) ?? RunnerInfo()
    variables = try c.decodeIfPresent([JobVariable].self, forKey: .variables) ?? []
    steps = try c.decodeIfPresent([Step].self, forKey: .steps) ?? []
    artifacts = try c.decodeIfPresent([ArtifactSpec].self, forKey: .artifacts) ?? []
    dependencies = try c.decodeIfPresent([Dependency].self, forKey: .dependencies) ?? []
    features = try c.decodeIfPresent(JobFeatures.self, forKey: .features) ?? JobFeatures()
  }

  /// The step named `name`, if GitLab sent one.
  func step(_ name: String) -> Step? { steps.first { $0.name == name } }
}
