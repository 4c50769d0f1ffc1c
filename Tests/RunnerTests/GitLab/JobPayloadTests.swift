import Foundation
import Protocols
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct JobPayloadTests {
  @Test func decodesGitLabsJobIgnoringUnknownAndNullFields() throws {
    let json = """
      {"id": 8589934593, "token": "job-secret", "allow_git_fetch": true,
       "job_info": {"id": 8589934593, "name": "boot", "stage": "test", "project_id": 7,
                    "project_name": "kernel", "time_in_queue_seconds": 1.5},
       "git_info": {"repo_url": "https://x/y.git", "ref": "main", "sha": "abc", "depth": 20},
       "runner_info": {"timeout": 3600, "runner_session_url": null},
       "variables": [{"key": "CI_JOB_ID", "value": "8589934593", "public": true, "masked": false},
                     {"key": "LAVA_TOKEN", "value": "s3cret-value", "public": false, "masked": true},
                     {"key": "CONFIG", "value": "a: 1", "public": false, "file": true}],
       "steps": [{"name": "script", "script": ["submit lava-job.yaml"], "timeout": 3600,
                  "when": "on_success", "allow_failure": false},
                 {"name": "after_script", "script": ["echo done"], "timeout": 300, "when": "always",
                  "allow_failure": true}],
       "image": null, "services": [], "cache": [], "credentials": [],
       "artifacts": [{"name": "logs", "untracked": false, "paths": ["*_log.yaml"], "when": "always",
                      "artifact_type": "archive", "artifact_format": "zip", "expire_in": "1 week"},
                     {"name": "junit", "paths": ["*_junit.xml"], "when": "always",
                      "artifact_type": "junit", "artifact_format": "gzip", "expire_in": null}],
       "dependencies": [{"id": 41, "name": "build", "token": "dep-secret",
                         "artifacts_file": {"filename": "artifacts.zip", "size": 1024}},
                        {"id": 42, "name": "prepare", "token": "dep2-secret"}],
       "features": {"trace_sections": true, "token_mask_prefixes": ["glpat-", "glrt-"],
                    "failure_reasons": ["script_failure", "runner_system_failure"]},
       "hooks": [], "secrets": {}}
      """
    let job = try JSONDecoder().decode(JobPayload.self, from: Data(json.utf8))
    #expect(job.id == 8_589_934_593)
    #expect(job.token == "job-secret")
    #expect(job.jobInfo.name == "boot" && job.jobInfo.projectName == "kernel")
    #expect(job.runnerInfo.timeout == 3600)
    #expect(job.variables.count == 3)
    #expect(job.variables[1] == JobVariable(key: "LAVA_TOKEN", value: "s3cret-value", masked: true))
    #expect(job.variables[2].file)
    #expect(job.step("script")?.script == ["submit lava-job.yaml"])
    #expect(job.step("after_script")?.timeout == 300)
    #expect(job.artifacts.map(\.artifactType) == ["archive", "junit"])
    #expect(job.artifacts[1].expireIn == nil)
    #expect(job.dependencies.map(\.id) == [41, 42])
    #expect(job.dependencies[1].artifactsFile == nil)
    #expect(job.features.tokenMaskPrefixes == ["glpat-", "glrt-"])
  }

  @Test func aMinimalJobDecodesWithDefaults() throws {
    let job = try JSONDecoder().decode(
      JobPayload.self, from: Data(#"{"id": 1, "token": "t", "artifacts": null, "dependencies": null}"#.utf8))
    #expect(job.steps.isEmpty && job.artifacts.isEmpty && job.dependencies.isEmpty && job.variables.isEmpty)
    #expect(job.runnerInfo.timeout == nil)
  }
}
