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
      // Ids that could not name a job, or name one twice, cannot be followed: the jobs LAVA
      // really created (if any) are unknown.
      let ids = submitted.job_ids
      guard ids.allSatisfy({ $0 > 0 }), Set(ids).count == ids.count else {
        throw LAVAClientError.submissionUncertain(
          server: url.maskedForDisplay,
          detail: "LAVA answered \(response.status) with the job ids \(ids), which are not distinct "
            + "positive numbers")
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
    guard job.id == id else {
      throw LAVAClientError.replyAboutOtherJob(
        endpoint: transport.displayName(.get, target), asked: [id], got: job.id)
    }
    seenJobs.withLock { _ = $0.insert(id) }
    return job
  }

  /// The jobs LAVA knows among `ids`, in id order; unknown ids are left out.
  package func jobs(_ ids: [Int64]) async throws -> [LAVAJob] {
    try await jobs(ids, filters: [])
  }

  /// `state__in=` takes LAVA's display names, comma-separated (LAVA 2023.01's `TestJobFilter`).
  package func jobs(_ ids: [Int64], inStates states: Set<LAVAJobState>) async throws -> [LAVAJob] {
    guard !states.isEmpty else { return [] }
    let names = LAVAJobState.allCases.filter(states.contains).map(\.rawValue).joined(separator: ",")
    return try await jobs(ids, filters: [URLQueryItem(name: "state__in", value: names)])
  }

  private func jobs(_ ids: [Int64], filters: [URLQueryItem]) async throws -> [LAVAJob] {
    var jobs: [LAVAJob] = []
    let sorted = Set(ids).sorted()
    // Batches keep the URL short; the filter is built from integers only, as LAVA answers some
    // malformed filters with a 500 page.
    for start in stride(from: 0, to: sorted.count, by: Self.jobsPerRequest) {
      let filter = sorted[start..<min(start + Self.jobsPerRequest, sorted.count)].map(String.init)
        .joined(separator: ",")
      // The whole batch on one page where the server allows it (LAVA's default page is 50).
      let first = transport.endpoint(
        "jobs",
        query: [
          URLQueryItem(name: "id__in", value: filter),
          URLQueryItem(name: "limit", value: "\(Self.jobsPerRequest)"),
        ] + filters)
      let replies = try await pages(LAVAReplies.Job.self, from: first)
      let asked = sorted[start..<min(start + Self.jobsPerRequest, sorted.count)]
      var listed = Set<Int64>()
      for reply in replies {
        // A job not asked for, or listed twice, would be taken for another job's state.
        guard asked.contains(reply.id), listed.insert(reply.id).inserted else {
          throw LAVAClientError.replyAboutOtherJob(
            endpoint: transport.displayName(.get, first), asked: Array(asked), got: reply.id)
        }
        jobs.append(try reply.job(endpoint: "jobs/"))
      }
    }
    seenJobs.withLock { $0.formUnion(jobs.map(\.id)) }
    return jobs.sorted { $0.id < $1.id }
  }

  package static let jobsPerRequest = 200

  /// The jobs whose description contains `marker`, in id order (`description__contains=`; LAVA
  /// keeps the definition's `job_name` as the description). Only a marker of ASCII letters,
  /// digits and `-` is sent, as LAVA answers some malformed filters with a 500 page; a listed
  /// job whose description lacks the marker is left out.
  package func jobs(describedWith marker: String) async throws -> [LAVAJob] {
    guard !marker.isEmpty, marker.utf8.count <= 64,
      marker.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
    else {
      throw LAVAClientError.malformedReply(
        endpoint: "jobs/", detail: "the job marker '\(marker)' is not made of letters, digits and '-'")
    }
    let first = transport.endpoint(
      "jobs", query: [URLQueryItem(name: "description__contains", value: marker)])
    let jobs = try await pages(LAVAReplies.Job.self, from: first)
      .map { try $0.job(endpoint: "jobs/") }
      .filter { $0.description.contains(marker) }
    seenJobs.withLock { $0.formUnion(jobs.map(\.id)) }
    return jobs.sorted { $0.id < $1.id }
  }

  /// Every line from `start` that LAVA has now, gathered from ``logPages(of:from:_:)``.
  package func logLines(of id: Int64, from start: Int) async throws -> [LAVALogLine] {
    var lines: [LAVALogLine] = []
    try await logPages(of: id, from: start) { lines += $0 }
    return lines
  }

  /// Every line from `start` that LAVA has now, asked for `limits.logLinesPerRequest` at a
  /// time (`end=`) so that no reply gets too large, each reply's lines handed to `page` before
  /// the next is asked for; at most `limits.logRequestsPerCall` requests and about
  /// `limits.logReply` bytes, after which the caller goes on from its new count as it does
  /// while following.
  ///
  /// A reply larger than `limits.logReply` is asked again for fewer lines; a single line too
  /// large for a reply on its own is kept up to `limits.logLine` bytes, with a marker.
  package func logPages(of id: Int64, from start: Int, _ page: ([LAVALogLine]) async throws -> Void)
    async throws
  {
    if followedJobs.withLock({ $0.insert(id).inserted }) { transport.metrics.lavaJobFollowed() }
    precondition(start >= 0, "log lines are counted from 0")
    let most = transport.limits.logLinesPerRequest
    var step = most
    var handed = 0
    var received = 0
    for _ in 0..<transport.limits.logRequestsPerCall {
      let chunk: [LAVALogLine]
      let bytes: Int
      do {
        (chunk, bytes) = try await logChunk(of: id, from: start + handed, count: step)
      } catch is LAVAReplyTooLarge {
        if step > 1 {
          step = max(1, step / 8)
        } else {
          try await page([try await oversizedLogLine(of: id, at: start + handed)])
          handed += 1
        }
        continue
      }
      if !chunk.isEmpty {
        try await page(chunk)
        handed += chunk.count
      }
      // A short chunk is the end of what LAVA has (or ends in a line still being written).
      if chunk.count < step { break }
      // One call reads about one reply's worth, whatever the length of the log, so that the
      // caller still asks for the job's state now and then; it asks again from its new count.
      received += bytes
      if received >= transport.limits.replies.logReply { break }
      // Long lines: ask next for about as many as half a reply holds at this size.
      let fit = bytes > 0 ? transport.limits.replies.logReply / 2 / max(1, bytes / chunk.count) : most
      step = min(most, max(step, fit))
    }
  }

  /// Line `index`, alone larger than a log reply may be: its start, read as a stream, and a
  /// marker instead of the rest.
  private func oversizedLogLine(of id: Int64, at index: Int) async throws -> LAVALogLine {
    let limits = transport.limits.replies
    let target = transport.endpoint(
      "jobs/\(id)/logs",
      query: [
        URLQueryItem(name: "start", value: "\(index)"), URLQueryItem(name: "end", value: "\(index + 1)"),
      ])
    let (head, body, _) = try await transport.prefix(target, maxBytes: limits.logLine)
    guard head.isSuccess else {
      throw failure(
        HTTPResponse(head: head, body: body), endpoint: transport.displayName(.get, target), jobID: id)
    }
    var text = LAVALogLineLimit.prefix(of: body, maxBytes: limits.logLine)
    if let newline = text.firstIndex(of: UInt8(ascii: "\n")) { text = text[..<newline] }
    let raw =
      String(decoding: text, as: UTF8.self)
      + LAVALogLineLimit.marker(moreThan: LAVAReplyTooLarge.sizeText(limits.logReply))
    return LAVALogLine(raw: raw, entry: nil)
  }

  /// The lines of one reply, and the reply's size in bytes.
  private func logChunk(of id: Int64, from start: Int, count: Int) async throws -> ([LAVALogLine], Int) {
    let target = transport.endpoint(
      "jobs/\(id)/logs",
      query: [
        URLQueryItem(name: "start", value: "\(start)"), URLQueryItem(name: "end", value: "\(start + count)"),
      ])
    let limits = transport.limits.replies
    let response = try await transport.send(.get, target, maxBodySize: limits.logReply)
    switch response.status {
    case 200:
      let lines = LAVALogParser.lines(
        in: LAVALogLineLimit.truncatingLongLines(response.body, limit: limits.logLine))
      return (lines, response.body.count)
    case 404:
      if !seenJobs.withLock({ $0.contains(id) }) {
        _ = try await job(id)
      }
      return ([], 0)
    default:
      throw failure(response, endpoint: transport.displayName(.get, target), jobID: id)
    }
  }

  package func downloadJUnit(of id: Int64, to file: URL) async throws {
    let target = transport.endpoint("jobs/\(id)/junit")
    let result = try await transport.download(target, to: file, maxBodySize: transport.limits.replies.junit)
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
    let suitesURL = transport.endpoint("jobs/\(id)/suites")
    let suites = try await pages(LAVAReplies.Suite.self, from: suitesURL, jobID: id)
    if let other = suites.first(where: { $0.job != nil && $0.job != id }), let got = other.job {
      throw LAVAClientError.replyAboutOtherJob(
        endpoint: transport.displayName(.get, suitesURL), asked: [id], got: got)
    }
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

  package func queue(ofDeviceType deviceType: String, before id: Int64) async throws -> LAVADeviceTypeQueue {
    // LAVA answers some malformed filters with a 500 page: only a plain device-type name is sent.
    guard !deviceType.isEmpty,
      deviceType.unicodeScalars.allSatisfy({
        $0.isASCII && ($0.properties.isAlphabetic || "0123456789-_.".unicodeScalars.contains($0))
      })
    else {
      throw LAVAClientError.malformedReply(
        endpoint: "jobs/\(id)/", detail: "the device type '\(deviceType)' is not a plain name")
    }
    let devices = try await pages(
      LAVAReplies.Device.self,
      from: transport.endpoint("devices", query: [URLQueryItem(name: "device_type", value: deviceType)]))
    let online = devices.filter { ["Good", "Unknown"].contains($0.health) }
    let waiting = transport.endpoint(
      "jobs",
      query: [
        URLQueryItem(name: "state", value: "Submitted"),
        URLQueryItem(name: "requested_device_type", value: deviceType),
        URLQueryItem(name: "id__lt", value: String(id)), URLQueryItem(name: "limit", value: "1"),
      ])
    let body = try await get(waiting)
    let count = try LAVAReplies.decode(LAVAReplies.Count.self, body, endpoint: waiting.maskedForDisplay)
    return LAVADeviceTypeQueue(
      deviceType: deviceType, devices: devices.count, online: online.count,
      idle: online.filter { $0.state == "Idle" }.count, jobsAhead: count.count)
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
