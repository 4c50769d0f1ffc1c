import FlyingFox
import Foundation

extension FakeGitLab {
  /// `POST jobs/request`: 201 with a job, 204 without; every reply carries `X-GitLab-Last-Update`.
  func requestJob(_ body: Data, headers: HTTPHeaders) async -> HTTPResponse {
    let what = "POST /jobs/request"
    let object: [String: Any]
    switch jsonObject(body, what) {
    case .success(let value): object = value
    case .failure(let box): return box.response
    }
    guard let token = object["token"] as? String else {
      violation("\(what): `token` is missing")
      return .apiError(400, "400 Bad request - token is missing")
    }
    if let headerToken = Self.header(headers, "RUNNER-TOKEN"), headerToken != token {
      violation("\(what): the RUNNER-TOKEN header differs from the body's `token`")
    }
    let systemID: String?
    if let value = object["system_id"] {
      systemID = checkSystemID(value, what)
    } else {
      systemID = nil
      violation("\(what): `system_id` is missing (GitLab then lumps every host of the runner together)")
    }
    let features = advertised(in: object, what)
    if let lastUpdate = object["last_update"], !(lastUpdate is String) {
      violation("\(what): `last_update` is not a string")
    }
    guard var runner = runners[token] else {
      return .apiError(403, "403 Forbidden", headers: [("X-GitLab-Last-Update", currentLastUpdate)])
    }
    if let systemID {
      runner.systemIDs.insert(systemID)
      runners[token] = runner
    }
    advertisedFeatures[token] = features
    if runner.paused { return .empty(204) }

    if let lastUpdate = object["last_update"] as? String, lastUpdate == currentLastUpdate {
      // Workhorse's long poll: hold while nothing changed for this runner's queue.
      let version = queueVersion
      let deadline = ContinuousClock.now + configuration.longPollTimeout
      heldLongPolls += 1
      while queueVersion == version, ContinuousClock.now < deadline {
        do { try await Task.sleep(for: .milliseconds(10)) } catch { break }
      }
      heldLongPolls -= 1
      if queueVersion == version {
        return .empty(204, headers: [("X-GitLab-Last-Update", lastUpdate)])
      }
    }

    let lastUpdateHeader = ("X-GitLab-Last-Update", currentLastUpdate)
    while !queue.isEmpty {
      let id = queue.removeFirst()
      guard var job = jobs[id], job.status == .pending else { continue }
      let missing = job.spec.impliedRunnerFeatures.filter { features[$0] != true }
      if !missing.isEmpty {
        // GitLab drops such a job before it reaches the runner (`Ci::RegisterJobService`).
        job.status = .failed
        job.failureReason = "runner_unsupported"
        jobs[id] = job
        continue
      }
      job.status = .running
      job.runnerToken = token
      // GitLab keeps the runner manager (system_id) a job went to (`Ci::Build#runner_manager`).
      job.runnerSystemID = systemID
      job.runnerFeatures = features
      jobs[id] = job
      let payload = jobPayload(id: id, job: job)
      return .json(201, payload, headers: [lastUpdateHeader])
    }
    return .empty(204, headers: [lastUpdateHeader])
  }

  private func advertised(in object: [String: Any], _ what: String) -> [String: Bool] {
    guard let info = object["info"] as? [String: Any] else {
      violation("\(what): `info` is missing (name, version, features…)")
      return [:]
    }
    guard let features = info["features"] as? [String: Any] else {
      violation("\(what): `info.features` is missing: GitLab then assumes the runner supports nothing")
      return [:]
    }
    var result: [String: Bool] = [:]
    for (key, value) in features {
      guard let flag = value as? Bool else {
        violation("\(what): `info.features.\(key)` is not a boolean")
        continue
      }
      result[key] = flag
    }
    return result
  }

  /// The job as GitLab's `Entities::Ci::JobRequest::Response` presents it.
  func jobPayload(id: Int64, job: JobRecord) -> [String: Any] {
    let spec = job.spec
    let apiURL = url.absoluteString + "/api/v4"
    let projectPath = "lava/\(configuration.projectName)"
    var variables: [[String: Any]] = [
      variable("CI", "true", isPublic: true),
      variable("GITLAB_CI", "true", isPublic: true),
      variable("CI_SERVER_URL", url.absoluteString, isPublic: true),
      variable("CI_API_V4_URL", apiURL, isPublic: true),
      variable("CI_JOB_ID", String(id), isPublic: true),
      variable("CI_JOB_NAME", spec.name, isPublic: true),
      variable("CI_JOB_STAGE", spec.stage, isPublic: true),
      variable("CI_JOB_URL", "\(url.absoluteString)/\(projectPath)/-/jobs/\(id)", isPublic: true),
      variable("CI_JOB_TOKEN", job.token, isPublic: false, masked: true),
      variable("CI_REGISTRY_PASSWORD", job.token, isPublic: false, masked: true),
      variable("CI_PROJECT_ID", String(configuration.projectID), isPublic: true),
      variable("CI_PROJECT_NAME", configuration.projectName, isPublic: true),
      variable("CI_PROJECT_PATH", projectPath, isPublic: true),
      variable("CI_PIPELINE_ID", String(id / 2), isPublic: true),
    ]
    for item in spec.variables {
      variables.append(
        variable(
          item.key, item.value, isPublic: item.isPublic, masked: item.masked, file: item.file, raw: item.raw))
    }
    var steps: [[String: Any]] = [
      [
        "name": "script", "script": spec.beforeScript + spec.script, "timeout": spec.timeout,
        "when": "on_success", "allow_failure": false,
      ]
    ]
    if !spec.afterScript.isEmpty {
      steps.append([
        "name": "after_script", "script": spec.afterScript, "timeout": spec.afterScriptTimeout,
        "when": "always", "allow_failure": true,
      ])
    }
    let artifacts: Any =
      spec.artifacts.isEmpty
      ? NSNull()
      : spec.artifacts.map { artifact -> [String: Any] in
        var entry: [String: Any] = [
          "name": artifact.name ?? NSNull(), "untracked": artifact.untracked, "paths": artifact.paths,
          "when": artifact.when, "expire_in": artifact.expireIn ?? NSNull(),
          "artifact_type": artifact.artifactType, "artifact_format": artifact.artifactFormat,
        ]
        if let exclude = artifact.exclude { entry["exclude"] = exclude }
        return entry
      }
    let dependencies: [[String: Any]] = spec.dependencies.map { dependency in
      let archive = archives[dependency.id]
      var entry: [String: Any] = [
        "id": dependency.id, "name": dependency.name, "token": archive?.token ?? "",
      ]
      entry["artifacts_file"] = ["filename": dependency.filename, "size": archive?.advertisedSize ?? 0]
      return entry
    }
    let host = url.host ?? "127.0.0.1"
    let port = url.port ?? 80
    return [
      "id": id,
      "token": job.token,
      "allow_git_fetch": true,
      "job_info": [
        "id": id, "name": spec.name, "stage": spec.stage, "project_id": configuration.projectID,
        "project_name": configuration.projectName, "project_full_path": projectPath,
        "pipeline_id": id / 2, "time_in_queue_seconds": 0,
      ],
      "git_info": [
        "repo_url": "http://gitlab-ci-token:\(job.token)@\(host):\(port)/\(projectPath).git",
        "ref": "main", "sha": "0123456789abcdef0123456789abcdef01234567",
        "before_sha": "0000000000000000000000000000000000000000", "ref_type": "branch",
        "refspecs": ["+refs/heads/main:refs/remotes/origin/main"], "depth": 20, "protected": false,
      ],
      "runner_info": ["timeout": spec.timeout, "runner_session_url": NSNull()],
      "variables": variables,
      "steps": steps,
      "image": NSNull(),
      "services": [Any](),
      "artifacts": artifacts,
      "cache": [Any](),
      "credentials": [Any](),
      "dependencies": dependencies,
      "features": [
        "trace_sections": true,
        "token_mask_prefixes": configuration.tokenMaskPrefixes,
        "failure_reasons": Self.failureReasons,
      ],
    ]
  }

  /// GitLab sends `file` and `raw` only when they are true.
  private func variable(
    _ key: String, _ value: String, isPublic: Bool, masked: Bool = false, file: Bool = false,
    raw: Bool = false
  ) -> [String: Any] {
    var entry: [String: Any] = ["key": key, "value": value, "public": isPublic, "masked": masked]
    if file { entry["file"] = true }
    if raw { entry["raw"] = true }
    return entry
  }

  /// `Enums::Ci::CommitStatus.failure_reasons`, the reasons GitLab accepts in a job update.
  static let failureReasons = [
    "unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure",
    "runner_system_failure", "missing_dependency_failure", "runner_unsupported", "stale_schedule",
    "job_execution_timeout", "archived_failure", "unmet_prerequisites", "scheduler_failure",
    "data_integrity_failure", "forward_deployment_failure", "user_blocked", "project_deleted",
    "ci_quota_exceeded", "pipeline_loop_detected", "no_matching_runner", "trace_size_exceeded",
    "builds_disabled", "environment_creation_failure", "deployment_rejected",
    "failed_outdated_deployment_job", "job_execution_server_timeout", "stuck_pending_with_matching_runners",
    "stuck_pending_no_matching_runners", "no_updates_running", "no_updates_canceling",
    "server_timeout_running", "server_timeout_canceling", "runner_configuration_error",
    "runner_external_dependency_failure", "runner_interrupted", "protected_environment_failure",
    "insufficient_bridge_permissions", "downstream_bridge_project_not_found", "invalid_bridge_trigger",
    "upstream_bridge_project_not_found", "insufficient_upstream_permissions",
    "bridge_pipeline_is_child_pipeline", "downstream_pipeline_creation_failed", "secrets_provider_not_found",
    "reached_max_descendant_pipelines_depth", "ip_restriction_failure", "reached_max_pipeline_hierarchy_size",
    "reached_downstream_pipeline_trigger_rate_limit", "job_token_expired",
  ]
}
