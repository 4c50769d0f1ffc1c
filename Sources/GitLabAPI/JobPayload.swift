import Protocols
import RunnerCore

/// The job GitLab hands the runner in reply to `POST /api/v4/jobs/request` (201): only the parts
/// lava-runner uses. Unknown fields are ignored and most fields may be absent or null.
package struct JobPayload: Codable, Sendable, Equatable {
  /// Job ids can exceed 2^32.
  package var id: Int64
  /// The job token: authenticates every per-job call. A secret.
  package var token: String
  package var jobInfo: JobInfo
  package var runnerInfo: RunnerInfo
  package var variables: [JobVariable]
  package var steps: [Step]
  package var artifacts: [ArtifactSpec]
  package var dependencies: [Dependency]
  package var features: JobFeatures

  package struct JobInfo: Codable, Sendable, Equatable {
    package var name: String
    package var stage: String
    package var projectID: Int64?
    package var projectName: String

    package enum CodingKeys: String, CodingKey {
      case name, stage
      case projectID = "project_id"
      case projectName = "project_name"
    }

    package init(name: String = "", stage: String = "", projectID: Int64? = nil, projectName: String = "") {
      self.name = name
      self.stage = stage
      self.projectID = projectID
      self.projectName = projectName
    }

    package init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
      stage = try c.decodeIfPresent(String.self, forKey: .stage) ?? ""
      projectID = try c.decodeIfPresent(Int64.self, forKey: .projectID)
      projectName = try c.decodeIfPresent(String.self, forKey: .projectName) ?? ""
    }
  }

  package struct RunnerInfo: Codable, Sendable, Equatable {
    /// The job's timeout in seconds, as set in the project or the runner.
    package var timeout: Int?

    package init(timeout: Int? = nil) { self.timeout = timeout }
  }

  package struct Step: Codable, Sendable, Equatable {
    /// `script` (GitLab joins `before_script` into it) or `after_script`.
    package var name: String
    package var script: [String]
    /// Seconds; `after_script` has its own.
    package var timeout: Int?
    /// `on_success`, `on_failure` or `always`.
    package var when: String
    package var allowFailure: Bool

    package enum CodingKeys: String, CodingKey {
      case name, script, timeout, when
      case allowFailure = "allow_failure"
    }

    package init(
      name: String, script: [String], timeout: Int? = nil, when: String = "on_success",
      allowFailure: Bool = false
    ) {
      self.name = name
      self.script = script
      self.timeout = timeout
      self.when = when
      self.allowFailure = allowFailure
    }

    package init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      name = try c.decode(String.self, forKey: .name)
      script = try c.decodeIfPresent([String].self, forKey: .script) ?? []
      timeout = try c.decodeIfPresent(Int.self, forKey: .timeout)
      when = try c.decodeIfPresent(String.self, forKey: .when) ?? "on_success"
      allowFailure = try c.decodeIfPresent(Bool.self, forKey: .allowFailure) ?? false
    }
  }

  /// One entry of the job's `artifacts:` (an archive, or one report type).
  package struct ArtifactSpec: Codable, Sendable, Equatable {
    package var name: String?
    package var untracked: Bool
    package var paths: [String]
    package var exclude: [String]
    /// `on_success`, `on_failure` or `always`.
    package var when: String
    /// `archive`, `junit`, …
    package var artifactType: String
    /// `zip`, `gzip`, `raw`.
    package var artifactFormat: String
    package var expireIn: String?

    package enum CodingKeys: String, CodingKey {
      case name, untracked, paths, exclude, when
      case artifactType = "artifact_type"
      case artifactFormat = "artifact_format"
      case expireIn = "expire_in"
    }

    package init(
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

    package init(from decoder: any Decoder) throws {
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
  package struct Dependency: Codable, Sendable, Equatable {
    package var id: Int64
    package var name: String
    package var token: String
    package var artifactsFile: ArtifactsFile?

    package struct ArtifactsFile: Codable, Sendable, Equatable {
      package var filename: String?
      package var size: Int64?
    }

    package enum CodingKeys: String, CodingKey {
      case id, name, token
      case artifactsFile = "artifacts_file"
    }
  }

  package struct JobFeatures: Codable, Sendable, Equatable {
    package var traceSections: Bool
    package var tokenMaskPrefixes: [String]
    package var failureReasons: [String]

    package enum CodingKeys: String, CodingKey {
      case traceSections = "trace_sections"
      case tokenMaskPrefixes = "token_mask_prefixes"
      case failureReasons = "failure_reasons"
    }

    package init(traceSections: Bool = true, tokenMaskPrefixes: [String] = [], failureReasons: [String] = [])
    {
      self.traceSections = traceSections
      self.tokenMaskPrefixes = tokenMaskPrefixes
      self.failureReasons = failureReasons
    }

    package init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      traceSections = try c.decodeIfPresent(Bool.self, forKey: .traceSections) ?? false
      tokenMaskPrefixes = RepeatedLists.shared(
        try c.decodeIfPresent([String].self, forKey: .tokenMaskPrefixes) ?? [])
      failureReasons = RepeatedLists.shared(
        try c.decodeIfPresent([String].self, forKey: .failureReasons) ?? [])
    }
  }

  package enum CodingKeys: String, CodingKey {
    case id, token, variables, steps, artifacts, dependencies, features
    case jobInfo = "job_info"
    case runnerInfo = "runner_info"
  }

  package init(
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

  package init(from decoder: any Decoder) throws {
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
  package func step(_ name: String) -> Step? { steps.first { $0.name == name } }
}
