import Foundation
import HTTP
import Protocols
import RunnerCore
import Synchronization
import YAML

/// One LAVA server as one token's user sees it, over REST API v0.2.
///
/// Every request carries `Authorization: Token <token>`, waits for one of the server's shared
/// `slots` (the cap on requests in flight to that server from the whole process) and is tried
/// once: its error says whether it was an outage (see `LAVAClientError.retryability`), and the
/// command decides with the job's outage budget whether to ask again. A submission's failure is
/// an outage only when it cannot have reached LAVA (see `LAVATransport.Replay`).
///
/// Logs: LAVA answers 404 `{"detail":"Not found."}` both for "no line at or after `start`
/// yet" and for an unknown job. A logs 404 is taken as "no lines yet" for a job this client has
/// seen (submitted, or whose detail it read); for any other job the detail is asked once, which
/// gives `jobNotFound` for an unknown id and marks a known one as seen.
package final class LAVAClient: LAVAServer {
  package let url: URL
  private let transport: LAVATransport
  private let seenJobs = Mutex<Set<Int64>>([])
  /// Jobs whose log was asked for, each counted once in `lava_runner_lava_jobs_followed_total`.
  private let followedJobs = Mutex<Set<Int64>>([])

  package init(
    url: URL, token: String, http: HTTPClient, slots: Slots, metrics: RunnerMetrics,
    limits: LAVARequestLimits = LAVARequestLimits()
  ) {
    self.url = url
    transport = LAVATransport(
      server: url, token: token, http: http, slots: slots, limits: limits,
      masker: SecretMasker(secrets: [token]), metrics: metrics)
  }

  /// The server's LAVA version: a cheap check that the URL and the token work.
  package func version() async throws -> String {
    struct Version: Decodable { var version: String }
    let body = try await get(transport.endpoint("system/version"))
    return try LAVAReplies.decode(Version.self, body, endpoint: "system/version").version
  }

  package func submit(definition: String) async throws -> [Int64] {
    let target = transport.endpoint("jobs")
    let name = transport.displayName(.post, target)
    let body: Data
    do {
      body = try JSONSerialization.data(withJSONObject: ["definition": definition])
    } catch {
      throw LAVAClientError.malformedReply(endpoint: name, detail: "the definition could not be encoded")
    }
    let response = try await transport.send(.post, target, json: body, replay: .submission)
    switch response.status {
    case 200..<300:
      guard let submitted = try? JSONDecoder().decode(LAVAReplies.Submitted.self, from: response.body),
        !submitted.job_ids.isEmpty
      else {
        throw LAVAClientError.submissionUncertain(
          server: url.maskedForDisplay,
          detail: "LAVA answered \(response.status) without job ids: \(shown(response.body))")
      }
      seenJobs.withLock { $0.formUnion(submitted.job_ids) }
      return submitted.job_ids
    case 400:
      throw LAVAClientError.definitionRejected(server: url.maskedForDisplay, body: shown(response.body))
    case 408, 429:
      throw LAVAClientError.serverUnavailable(
        endpoint: name, status: response.status, body: shown(response.body),
        retryAfter: response.head.retryAfter)
    default:
      throw failure(response, endpoint: name, jobID: nil, submission: true)
    }
  }

  package func job(_ id: Int64) async throws -> LAVAJob {
    let target = transport.endpoint("jobs/\(id)")
    let body = try await get(target, jobID: id)
    let job = try LAVAReplies.decode(LAVAReplies.Job.self, body, endpoint: target.maskedForDisplay)
      .job(endpoint: target.maskedForDisplay)
    seenJobs.withLock { _ = $0.insert(id) }
    return job
  }

  /// The jobs LAVA knows among `ids`, in id order; unknown ids are left out.
  package func jobs(_ ids: [Int64]) async throws -> [LAVAJob] {
    var jobs: [LAVAJob] = []
    let sorted = Set(ids).sorted()
    // Batches keep the URL short; the filter is built from integers only, as LAVA answers some
    // malformed filters with a 500 page.
    for start in stride(from: 0, to: sorted.count, by: Self.jobsPerRequest) {
      let filter = sorted[start..<min(start + Self.jobsPerRequest, sorted.count)].map(String.init)
        .joined(separator: ",")
      let first = transport.endpoint("jobs", query: [URLQueryItem(name: "id__in", value: filter)])
      let replies = try await pages(LAVAReplies.Job.self, from: first)
      jobs += try replies.map { reply throws(LAVAClientError) in try reply.job(endpoint: "jobs/") }
    }
    seenJobs.withLock { $0.formUnion(jobs.map(\.id)) }
    return jobs.sorted { $0.id < $1.id }
  }

  package static let jobsPerRequest = 200

  /// Every line from `start` that LAVA has now, asked for `limits.logLinesPerRequest` at a
  /// time (`end=`) so that no reply gets too large; at most `limits.logRequestsPerCall`
  /// requests, after which the caller goes on from its new count as it does while following.
  package func logLines(of id: Int64, from start: Int) async throws -> [LAVALogLine] {
    if followedJobs.withLock({ $0.insert(id).inserted }) { transport.metrics.lavaJobFollowed() }
    precondition(start >= 0, "log lines are counted from 0")
    let step = transport.limits.logLinesPerRequest
    var lines: [LAVALogLine] = []
    for _ in 0..<transport.limits.logRequestsPerCall {
      let chunk = try await logChunk(of: id, from: start + lines.count, count: step)
      lines += chunk
      // A short chunk is the end of what LAVA has (or ends in a line still being written).
      if chunk.count < step { break }
    }
    return lines
  }

  private func logChunk(of id: Int64, from start: Int, count: Int) async throws -> [LAVALogLine] {
    let target = transport.endpoint(
      "jobs/\(id)/logs",
      query: [
        URLQueryItem(name: "start", value: "\(start)"), URLQueryItem(name: "end", value: "\(start + count)"),
      ])
    let response = try await transport.send(.get, target, maxBodySize: 64 << 20)
    switch response.status {
    case 200:
      return LAVALogParser.lines(in: response.body)
    case 404:
      if !seenJobs.withLock({ $0.contains(id) }) {
        _ = try await job(id)
      }
      return []
    default:
      throw failure(response, endpoint: transport.displayName(.get, target), jobID: id)
    }
  }

  package func downloadJUnit(of id: Int64, to file: URL) async throws {
    let target = transport.endpoint("jobs/\(id)/junit")
    let result = try await transport.download(target, to: file)
    guard result.head.isSuccess else {
      let response = HTTPResponse(head: result.head, body: result.errorBody ?? Data())
      throw failure(response, endpoint: transport.displayName(.get, target), jobID: id)
    }
  }

  package func testCases(of id: Int64) async throws -> [LAVATestCase] {
    // `suites/` answers an empty list for an unknown job; `tests/` tells.
    let tests = try await pages(
      LAVAReplies.TestCase.self, from: transport.endpoint("jobs/\(id)/tests"), jobID: id)
    guard !tests.isEmpty else { return [] }
    let suites = try await pages(
      LAVAReplies.Suite.self, from: transport.endpoint("jobs/\(id)/suites"), jobID: id)
    let names = Dictionary(suites.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
    return tests.map { test in
      LAVATestCase(
        suite: names[test.suite] ?? "suite \(test.suite)", name: test.name, result: test.result,
        measurement: test.measurement?.text, units: test.unit.flatMap { $0.isEmpty ? nil : $0 })
    }
  }

  package func cancel(_ id: Int64) async throws {
    // LAVA's cancel is a GET (a POST answers 405); an unknown id gives a 500 page, so an
    // error here is checked against the job's detail before it is called the server's fault.
    let target = transport.endpoint("jobs/\(id)/cancel")
    let response = try await transport.send(.get, target)
    guard response.head.isSuccess else {
      if response.status >= 500 { _ = try await job(id) }
      throw failure(response, endpoint: transport.displayName(.get, target), jobID: id)
    }
  }

  // MARK: plumbing

  private func get(_ target: URL, jobID: Int64? = nil) async throws -> Data {
    let response = try await transport.send(.get, target)
    guard response.head.isSuccess else {
      throw failure(response, endpoint: transport.displayName(.get, target), jobID: jobID)
    }
    return response.body
  }

  /// Every item of a paged list, following `next` (at most 10 000 pages, against a loop).
  private func pages<Item: Decodable>(_ item: Item.Type, from first: URL, jobID: Int64? = nil) async throws
    -> [Item]
  {
    var items: [Item] = []
    var next: URL? = first
    var seen = Set<URL>()
    while let page = next, seen.count < 10_000 {
      guard seen.insert(page).inserted else {
        throw LAVAClientError.malformedReply(
          endpoint: page.maskedForDisplay, detail: "the next page link points back to an earlier page")
      }
      let body = try await get(page, jobID: jobID)
      let reply = try LAVAReplies.decode(LAVAReplies.Page<Item>.self, body, endpoint: page.maskedForDisplay)
      items += reply.results
      next = try reply.next.map { link throws(LAVAClientError) in
        try transport.pageURL(link, endpoint: page.maskedForDisplay)
      }
    }
    return items
  }

  private func failure(
    _ response: HTTPResponse, endpoint: String, jobID: Int64?, submission: Bool = false
  ) -> LAVAClientError {
    let server = url.maskedForDisplay
    switch response.status {
    case 401, 403:
      let detail = (try? JSONDecoder().decode(LAVAReplies.Detail.self, from: response.body))?.detail
      return .tokenRejected(
        server: server, detail: transport.masker.mask(detail ?? "HTTP \(response.status)"))
    case 404 where jobID != nil:
      return .jobNotFound(id: jobID!, server: server)
    case 408, 429, 500...599:
      if submission {
        return .submissionUncertain(
          server: server, detail: "LAVA answered \(response.status): \(shown(response.body))")
      }
      return .serverUnavailable(
        endpoint: endpoint, status: response.status, body: shown(response.body),
        retryAfter: response.head.retryAfter)
    default:
      return .unexpectedStatus(endpoint: endpoint, status: response.status, body: shown(response.body))
    }
  }

  /// A reply body fit for a message: masked, at most 2 000 characters, and an HTML error page
  /// (Django's 500) named rather than quoted.
  private func shown(_ body: Data) -> String {
    // Masked before it is cut, so that no piece of a token cut in two is left.
    let text = String(decoding: body.prefix(64 << 10), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    if text.hasPrefix("<") && text.lowercased().contains("<html") { return "(an HTML error page)" }
    let masked = transport.masker.mask(text)
    return masked.count > 2000 ? String(masked.prefix(2000)) + "…" : masked
  }
}
