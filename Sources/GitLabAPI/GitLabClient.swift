import Foundation
import HTTP
import Protocols
import RunnerCore

/// GitLab's runner API (`/api/v4/`), one method per call. Each returns what GitLab said;
/// the callers decide what a status means for them and when to retry.
package struct GitLabClient: Sendable {
  package let instance: URL
  package let http: HTTPClient
  package let identity: RunnerIdentity
  package let runnerToken: String
  /// Masks tokens in bodies quoted in errors.
  package let mask: @Sendable (String) -> String
  package var metrics = RunnerMetrics()

  /// Long polling holds a job request open up to about 50 s.
  package static let jobRequestTimeout: Duration = .seconds(90)
  package static let callTimeout: Duration = .seconds(60)

  package func endpoint(_ path: String) -> URL {
    instance.appendingPathComponent("api/v4").appendingPathComponent(path)
  }

  // MARK: jobs/request

  package enum JobRequestReply: Sendable {
    case job(JobPayload)
    case noJob
  }

  /// `POST jobs/request`; `lastUpdate` is the `X-GitLab-Last-Update` of the previous reply.
  package func requestJob(lastUpdate: String?) async throws(GitLabError) -> (
    JobRequestReply, lastUpdate: String?
  ) {
    let body = GitLabRequestBody.JobRequest(
      token: runnerToken, system_id: identity.systemID, info: identity.info, last_update: lastUpdate)
    let response = try await send(
      "jobs/request", method: .post, json: body, headers: ["RUNNER-TOKEN": runnerToken],
      timeout: Self.jobRequestTimeout)
    let newLastUpdate = response.headers["X-GitLab-Last-Update"] ?? lastUpdate
    switch response.status {
    case 201:
      do {
        return (.job(try JSONDecoder().decode(JobPayload.self, from: response.body)), newLastUpdate)
      } catch {
        throw .malformedReply(endpoint: "jobs/request", detail: "the job could not be decoded: \(error)")
      }
    case 204:
      return (.noJob, newLastUpdate)
    case 401, 403:
      throw .runnerTokenRejected(endpoint: "jobs/request")
    default:
      throw unexpected("jobs/request", response)
    }
  }

  // MARK: jobs/:id/trace

  package struct TracePatchReply: Sendable, Equatable {
    package var status: Int
    /// GitLab's `Range: 0-N`: how many bytes of the log it holds.
    package var remoteLength: Int64?
    package var jobStatus: String?
    package var updateInterval: Duration?
    package var retryAfter: Duration?
  }

  /// `PATCH jobs/:id/trace` with `bytes` starting at `offset` of the whole log.
  package func patchTrace(jobID: Int64, jobToken: String, offset: Int64, bytes: Data)
    async throws(GitLabError)
    -> TracePatchReply
  {
    precondition(!bytes.isEmpty, "a trace patch carries at least one byte")
    let path = "jobs/\(jobID)/trace"
    let response = try await send(
      path, method: .patch, body: .data(bytes),
      headers: [
        "JOB-TOKEN": jobToken,
        "Content-Type": "text/plain",
        "Content-Range": "\(offset)-\(offset + Int64(bytes.count) - 1)",
      ])
    return TracePatchReply(
      status: response.status,
      remoteLength: response.headers["Range"].flatMap(Self.rangeLength),
      jobStatus: response.headers["Job-Status"],
      updateInterval: response.headers["X-GitLab-Trace-Update-Interval"].flatMap(Int.init).map {
        .seconds($0)
      },
      retryAfter: response.head.retryAfter)
  }

  /// `0-N` → N.
  package static func rangeLength(_ header: String) -> Int64? {
    let parts = header.split(separator: "-", maxSplits: 1)
    guard parts.count == 2, parts[0] == "0" else { return nil }
    return Int64(parts[1].trimmingCharacters(in: .whitespaces))
  }

  // MARK: PUT jobs/:id

  package struct JobUpdate: Sendable, Equatable {
    package var state: String
    package var failureReason: FailureReason?
    package var exitCode: Int?
    package var checksum: String?
    package var bytesize: Int64?

    package static let running = JobUpdate(state: "running")

    package init(
      state: String, failureReason: FailureReason? = nil, exitCode: Int? = nil, checksum: String? = nil,
      bytesize: Int64? = nil
    ) {
      self.state = state
      self.failureReason = failureReason
      self.exitCode = exitCode
      self.checksum = checksum
      self.bytesize = bytesize
    }
  }

  package struct JobUpdateReply: Sendable, Equatable {
    package var status: Int
    package var jobStatus: String?
    package var retryAfter: Duration?
  }

  package func updateJob(jobID: Int64, jobToken: String, _ update: JobUpdate) async throws(GitLabError)
    -> JobUpdateReply
  {
    var body = GitLabRequestBody.JobUpdate(
      token: jobToken, state: update.state, info: identity.info,
      failure_reason: update.failureReason?.rawValue,
      exit_code: update.exitCode)
    if let checksum = update.checksum, let bytesize = update.bytesize {
      body.output = .init(checksum: checksum, bytesize: bytesize)
    }
    let response = try await send("jobs/\(jobID)", method: .put, json: body, headers: [:])
    return JobUpdateReply(
      status: response.status, jobStatus: response.headers["Job-Status"], retryAfter: response.head.retryAfter
    )
  }

  // MARK: artifacts

  /// `GET jobs/:id/artifacts` with the dependency's own token, streamed to `file`.
  package func downloadArtifacts(jobID: Int64, token: String, to file: URL) async throws(GitLabError)
    -> HTTPDownloadResult
  {
    let request = HTTPRequest(
      method: .get, url: endpoint("jobs/\(jobID)/artifacts"), headers: ["JOB-TOKEN": token],
      timeout: nil, idleTimeout: .seconds(120))
    let clock = ContinuousClock()
    let start = clock.now
    do {
      let result = try await http.download(request, to: file)
      metrics.gitLabRequest(
        endpoint: "jobs/:id/artifacts", status: String(result.head.status), duration: clock.now - start)
      return result
    } catch let error as HTTPClientError {
      metrics.gitLabRequest(endpoint: "jobs/:id/artifacts", status: "error", duration: clock.now - start)
      throw .transport(endpoint: "jobs/\(jobID)/artifacts", error)
    } catch {
      throw .cancelled(endpoint: "jobs/\(jobID)/artifacts")
    }
  }

  /// `POST jobs/:id/artifacts`: one archive or report, multipart with the part `file`.
  package func uploadArtifacts(
    jobID: Int64, jobToken: String, file: URL, filename: String, type: String, format: String,
    expireIn: String?
  ) async throws(GitLabError) -> HTTPResponse {
    var query = [
      URLQueryItem(name: "artifact_type", value: type), URLQueryItem(name: "artifact_format", value: format),
    ]
    var fields: [MultipartForm.Part] = [
      .field(name: "artifact_type", value: type), .field(name: "artifact_format", value: format),
    ]
    if let expireIn {
      query.append(URLQueryItem(name: "expire_in", value: expireIn))
      fields.append(.field(name: "expire_in", value: expireIn))
    }
    var components = URLComponents(url: endpoint("jobs/\(jobID)/artifacts"), resolvingAgainstBaseURL: false)!
    components.queryItems = query
    let form = MultipartForm(fields + [.file(name: "file", file: file, filename: filename)])
    return try await send(
      "jobs/\(jobID)/artifacts", url: components.url!, method: .post, body: .multipart(form),
      headers: ["JOB-TOKEN": jobToken], timeout: nil)
  }

  // MARK: plumbing (internal: GitLabClient+Runners.swift uses it too)

  package func send(
    _ path: String, url: URL? = nil, method: HTTPMethod, json: some Encodable, headers: HTTPHeaders,
    timeout: Duration = callTimeout
  ) async throws(GitLabError) -> HTTPResponse {
    let data: Data
    do {
      data = try GitLabRequestBody.encoded(json)
    } catch {
      throw .malformedReply(endpoint: path, detail: "the request body could not be encoded")
    }
    var headers = headers
    headers["Content-Type"] = "application/json"
    return try await send(
      path, url: url, method: method, body: .data(data), headers: headers, timeout: timeout)
  }

  package func send(
    _ path: String, url: URL? = nil, method: HTTPMethod, body: HTTPRequestBody, headers: HTTPHeaders,
    timeout: Duration? = callTimeout
  ) async throws(GitLabError) -> HTTPResponse {
    var headers = headers
    if headers["Accept"] == nil { headers["Accept"] = "application/json" }
    let request = HTTPRequest(
      method: method, url: url ?? endpoint(path), headers: headers, body: body, timeout: timeout)
    let clock = ContinuousClock()
    let start = clock.now
    let label = Self.metricsLabel(path)
    do {
      let response = try await http.data(for: request)
      metrics.gitLabRequest(endpoint: label, status: String(response.status), duration: clock.now - start)
      return response
    } catch let error as HTTPClientError {
      metrics.gitLabRequest(endpoint: label, status: "error", duration: clock.now - start)
      throw .transport(endpoint: path, error)
    } catch {
      throw .cancelled(endpoint: path)
    }
  }

  /// `jobs/123/trace` → `jobs/:id/trace`, so that metrics have one series per endpoint.
  package static func metricsLabel(_ path: String) -> String {
    RunnerMetrics.endpointLabel(path)
  }

  package func unexpected(_ path: String, _ response: HTTPResponse) -> GitLabError {
    let text = String(decoding: response.body.prefix(512), as: UTF8.self)
    return .unexpectedStatus(endpoint: path, status: response.status, body: mask(text))
  }

  package init(
    instance: URL, http: HTTPClient, identity: RunnerIdentity, runnerToken: String,
    mask: @escaping @Sendable (String) -> String
  ) {
    self.instance = instance
    self.http = http
    self.identity = identity
    self.runnerToken = runnerToken
    self.mask = mask
  }
}
