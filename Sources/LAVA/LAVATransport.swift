import Foundation
import HTTP
import Protocols
import RunnerCore
import YAML

/// The bounds of one LAVA request. There is no retry here: a failed request throws an error
/// that says whether it is an outage (``Retryability``), and the command that asked decides,
/// with the one ``RetryPolicy`` and the job's outage budget, whether to ask again.
package struct LAVARequestLimits: Sendable {
  /// The limit for one ordinary call, connection included.
  package var callTimeout: Duration = .seconds(60)
  /// Downloads (JUnit) may take long while bytes flow, but not forever, and not while idle.
  package var downloadIdleTimeout: Duration = .seconds(120)
  package var downloadTimeout: Duration = .seconds(30 * 60)
  /// Log lines asked for per request (LAVA's `end=`), and requests per `logLines` call.
  package var logLinesPerRequest = 5_000
  package var logRequestsPerCall = 20
  /// What the client takes in of LAVA's replies.
  package var replies = LAVAReplyLimits()

  package init() {}

  package init(callTimeout: Duration) {
    self.callTimeout = callTimeout
  }
}

/// Sends requests to one LAVA server: token header, the per-server cap on requests in flight,
/// bounded time. Knows nothing of what the endpoints mean.
package struct LAVATransport: Sendable {
  /// Whether a failed request may be sent again, which decides how its failure is classified.
  package enum Replay: Sendable {
    /// GET: reading twice is harmless, so every outage is retryable.
    case idempotent
    /// POST jobs/: retryable only when nothing can have reached the server (no connection was
    /// made) or the server said it did not take the request (408, 429); any other failure may
    /// have created the job, and a second POST could start a duplicate on a board.
    case submission
  }

  package enum Outcome: Sendable {
    case response(HTTPResponse)
    case download(HTTPDownloadResult)
  }

  package let server: URL
  package let token: String
  package let http: HTTPClient
  package let slots: Slots
  package let limits: LAVARequestLimits
  package let masker: SecretMasker
  /// Every request is counted here, by endpoint template and status.
  package let metrics: RunnerMetrics

  /// `api/v0.2/<path>` under the server URL, with the query items given.
  package func endpoint(_ path: String, query: [URLQueryItem] = []) -> URL {
    let url = server.appendingPathComponent("api/v0.2").appendingPathComponent(path)
    // appendingPathComponent drops the trailing slash LAVA's routes need (else a redirect).
    var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
    if !components.path.hasSuffix("/") { components.path += "/" }
    if !query.isEmpty { components.queryItems = query }
    return components.url!
  }

  /// A `next` link of a paged reply, moved onto this server's scheme, host and port: behind a
  /// proxy LAVA may build it with the wrong ones, and the token must go nowhere else.
  package func pageURL(_ next: String, endpoint name: String) throws(LAVAClientError) -> URL {
    guard let given = URLComponents(string: next),
      var components = URLComponents(url: server, resolvingAgainstBaseURL: false)
    else {
      throw .malformedReply(endpoint: name, detail: "the next page link is not a URL")
    }
    components.percentEncodedPath = given.percentEncodedPath
    components.percentEncodedQuery = given.percentEncodedQuery
    guard let url = components.url else {
      throw .malformedReply(endpoint: name, detail: "the next page link is not a URL")
    }
    return url
  }

  package func displayName(_ method: HTTPMethod, _ url: URL) -> String {
    "\(method) \(url.maskedForDisplay)"
  }

  /// The whole reply of `method url`, retried as `replay` allows. Any status is returned once
  /// retries are over or not allowed; transport failures throw.
  package func send(
    _ method: HTTPMethod, _ url: URL, json: Data? = nil, replay: Replay = .idempotent,
    maxBodySize: Int? = nil
  ) async throws -> HTTPResponse {
    let maxBodySize = maxBodySize ?? limits.replies.replyBody
    var headers: HTTPHeaders = ["Authorization": "Token \(token)", "Accept": "application/json"]
    var body = HTTPRequestBody.none
    if let json {
      headers["Content-Type"] = "application/json"
      body = .data(json)
    }
    let request = HTTPRequest(
      method: method, url: url, headers: headers, body: body, timeout: limits.callTimeout)
    let outcome = try await attempt(request, replay: replay) {
      try await .response(http.data(for: $0, maxBodySize: maxBodySize))
    }
    guard case .response(let response) = outcome else { preconditionFailure("data(for:) gives a response") }
    return response
  }

  /// Streams a 2xx body to `file`, at most `maxBodySize` bytes; for any other status the start
  /// of the body comes back.
  package func download(_ url: URL, to file: URL, maxBodySize: Int64) async throws -> HTTPDownloadResult {
    let request = HTTPRequest(
      method: .get, url: url, headers: ["Authorization": "Token \(token)"], timeout: limits.downloadTimeout,
      idleTimeout: limits.downloadIdleTimeout)
    let outcome = try await attempt(request, replay: .idempotent) {
      try await .download(http.download($0, to: file, maxBodySize: maxBodySize))
    }
    guard case .download(let result) = outcome else { preconditionFailure("download gives a result") }
    return result
  }

  /// The first `maxBytes` of a reply's body, read as a stream and abandoned there, and whether
  /// that was the whole body: for a reply too large to hold, whose start is still worth having.
  /// One try, no retries.
  package func prefix(
    _ url: URL, maxBytes: Int
  ) async throws -> (head: HTTPResponseHead, body: Data, isWhole: Bool) {
    let request = HTTPRequest(
      method: .get, url: url, headers: ["Authorization": "Token \(token)", "Accept": "application/json"],
      timeout: limits.callTimeout)
    guard await slots.acquire() else { throw CancellationError() }
    defer { slots.release() }
    let started = ContinuousClock.now
    var status = "error"
    // Counted like every other request, whether it ends in a reply or an error.
    defer {
      metrics.lavaRequest(
        endpoint: Self.metricsLabel(url), status: status, duration: ContinuousClock.now - started)
    }
    do {
      let (head, stream) = try await http.stream(request)
      status = String(head.status)
      var body = Data()
      for try await chunk in stream {
        body.append(chunk.prefix(maxBytes - body.count))
        if body.count >= maxBytes { return (head, body, false) }
      }
      return (head, body, true)
    } catch let error as HTTPClientError {
      status = "error"
      throw LAVAClientError.transport(
        endpoint: displayName(.get, url), detail: masker.mask(error.description),
        outage: error.retryability != .final)
    }
  }

  /// One try: any reply comes back; a transport failure throws, classified for the caller.
  private func attempt(
    _ request: HTTPRequest, replay: Replay, _ perform: (HTTPRequest) async throws -> Outcome
  ) async throws -> Outcome {
    let name = displayName(request.method, request.url)
    guard await slots.acquire() else { throw CancellationError() }
    let started = ContinuousClock.now
    let result: Result<Outcome, HTTPClientError>
    do {
      defer { slots.release() }
      do {
        result = .success(try await perform(request))
      } catch let error as HTTPClientError {
        result = .failure(error)
      }
    }
    let status = (try? result.get()).map { String($0.head.status) } ?? "error"
    metrics.lavaRequest(
      endpoint: Self.metricsLabel(request.url), status: status, duration: ContinuousClock.now - started)
    switch result {
    case .success(let outcome):
      return outcome
    case .failure(let error):
      if case .fileAccess(let path, let detail) = error {
        throw LAVAClientError.fileAccess(path: path, detail: detail)
      }
      // The same request would get the same reply: final.
      if case .bodyTooLarge(_, let limit) = error {
        throw LAVAReplyTooLarge(request: name, limit: limit)
      }
      let detail = masker.mask(error.description)
      if replay == .submission, !Self.isNotSent(error) {
        throw LAVAClientError.submissionUncertain(server: server.maskedForDisplay, detail: detail)
      }
      throw LAVAClientError.transport(endpoint: name, detail: detail, outage: error.retryability != .final)
    }
  }

  /// `…/api/v0.2/jobs/12/logs/?start=…` → `jobs/:id/logs`: the endpoint without ids, query or
  /// server, so that metrics have one series per endpoint and never show a token or a job id.
  package static func metricsLabel(_ url: URL) -> String {
    let path = url.path
    let root = "/api/v0.2/"
    let relative = path.range(of: root, options: .backwards).map { String(path[$0.upperBound...]) } ?? path
    return RunnerMetrics.endpointLabel(relative)
  }

  /// No connection was made, so no byte of the request left this process (or, for a failed
  /// TLS handshake, none reached a server that could act on it).
  package static func isNotSent(_ error: HTTPClientError) -> Bool {
    if case .connectionFailed = error { return true }
    if case .tls = error { return true }
    if case .invalidRequest = error { return true }
    return false
  }
}

extension LAVATransport.Outcome {
  package var head: HTTPResponseHead {
    switch self {
    case .response(let response): response.head
    case .download(let result): result.head
    }
  }
}
