import FlyingFox
import Foundation
import ZIPFoundation

extension FakeGitLab {
  /// GitLab's `authenticate_job!`: 403 for an unknown job or a wrong token, 403 with `Job-Status`
  /// when the job is neither running nor canceling.
  func authenticateJob(
    _ id: Int64, token: String?, _ what: String, isFinalRetry: (JobRecord) -> Bool = { _ in false }
  ) -> Result<JobRecord, HTTPResponseBox> {
    guard let job = jobs[id] else {
      violation("\(what): job \(id) was never given to a runner")
      return .failure(HTTPResponseBox(.apiError(403, "403 Forbidden - Job not found")))
    }
    guard let token, !token.isEmpty else {
      violation("\(what): no job token (JOB-TOKEN header or `token`)")
      return .failure(HTTPResponseBox(.apiError(403, "403 Forbidden")))
    }
    guard token == job.token else {
      violation("\(what): the job token is not job \(id)'s")
      return .failure(HTTPResponseBox(.apiError(403, "403 Forbidden")))
    }
    guard job.status.isProcessingOnRunner else {
      if job.status == .pending {
        violation("\(what): job \(id) was never given to a runner")
      } else if job.finishedByRunner && !isFinalRetry(job) {
        violation("\(what): job \(id) was already finished by the runner's own final update")
      }
      return .failure(
        HTTPResponseBox(
          .apiError(
            403, "403 Forbidden - Job is not processing on runner",
            headers: [("Job-Status", job.status.rawValue)])))
    }
    return .success(job)
  }

  /// `PATCH jobs/:id/trace`: appends at exactly the current length (`Ci::AppendBuildTraceService`).
  func patchTrace(_ id: Int64, body: Data, headers: HTTPHeaders) -> HTTPResponse {
    let what = "PATCH /jobs/\(id)/trace"
    var job: JobRecord
    switch authenticateJob(id, token: Self.header(headers, "JOB-TOKEN"), what) {
    case .success(let value): job = value
    case .failure(let box): return box.response
    }
    guard let range = Self.header(headers, "Content-Range") else {
      violation("\(what): no Content-Range header")
      return .apiError(400, "400 Missing header Content-Range")
    }
    let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
    let start = Int(bounds.first ?? "") ?? 0
    if bounds.count != 2 || Int(bounds[0]) == nil || Int(bounds[1]) == nil {
      violation("\(what): Content-Range \"\(range)\" is not START-END")
    } else if let end = Int(bounds[1]), end - start + 1 != body.count {
      violation(
        "\(what): Content-Range \(range) covers \(end - start + 1) bytes but the body has \(body.count)")
    }
    if body.count > configuration.maxTracePatchBytes {
      violation("\(what): a patch of \(body.count) bytes; send at most \(configuration.maxTracePatchBytes)")
    }
    let length = job.trace.count
    let replyWasLost = job.lastTraceReplyLost
    // Used up by the resend it allows; a patch in order leaves it (one the runner sent before it
    // died may arrive after ``runnerProcessDied()``, and its reply is lost all the same).
    if start != length { job.lastTraceReplyLost = false }
    jobs[id] = job
    guard start == length else {
      if start > length {
        violation("\(what): gap: starts at \(start) but GitLab holds only \(length) bytes")
      } else if !replyWasLost {
        violation("\(what): duplicated chunk: starts at \(start) but GitLab already holds \(length) bytes")
      }
      return .apiError(416, "416 Range Not Satisfiable", headers: [("Range", "0-\(length)")])
    }
    job.trace.append(body)
    jobs[id] = job
    return .text(
      202, "",
      headers: [
        ("Job-Status", job.status.rawValue), ("Range", "0-\(job.trace.count)"),
        ("X-GitLab-Trace-Update-Interval", String(configuration.traceUpdateInterval)),
      ])
  }

  /// `PUT jobs/:id`: keep-alive (`running`) or the final state (`Ci::UpdateBuildStateService`).
  func updateJob(_ id: Int64, body: Data, headers: HTTPHeaders) -> HTTPResponse {
    let what = "PUT /jobs/\(id)"
    let object: [String: Any]
    switch jsonObject(body, what) {
    case .success(let value): object = value
    case .failure(let box): return box.response
    }
    let token = (object["token"] as? String) ?? Self.header(headers, "JOB-TOKEN")
    let state = object["state"] as? String
    var job: JobRecord
    let auth = authenticateJob(id, token: token, what) { $0.reportedState == state && state != "running" }
    switch auth {
    case .success(let value): job = value
    case .failure(let box): return box.response
    }
    switch state {
    case "running":
      job.keepAlives += 1
      jobs[id] = job
      // GitLab's `PUT /jobs/:id` always tells the runner the job's status (how a runner whose
      // log is quiet learns of a graceful cancel).
      return .text(200, "200", headers: [("Job-Status", job.status.rawValue)])
    case "success", "failed":
      return finalUpdate(id, job: job, state: state!, object: object, what)
    default:
      violation(
        "\(what): `state` is \(state.map { "\"\($0)\"" } ?? "missing"); expected running, success or failed")
      return .apiError(400, "400 Bad request")
    }
  }

  private func finalUpdate(
    _ id: Int64, job: JobRecord, state: String, object: [String: Any], _ what: String
  ) -> HTTPResponse {
    var job = job
    let reason = object["failure_reason"] as? String
    if state == "success", reason != nil {
      violation("\(what): `failure_reason` on a successful job")
    }
    if state == "failed", reason == nil, job.status == .running {
      violation("\(what): a failed job without `failure_reason` (GitLab shows unknown_failure)")
    }
    if let reason, !Self.failureReasons.contains(reason) {
      violation("\(what): unknown failure_reason \"\(reason)\"")
    }
    var exitCode: Int?
    if let value = object["exit_code"] {
      exitCode = value as? Int
      if exitCode == nil { violation("\(what): `exit_code` is not an integer") }
    }
    let output = object["output"] as? [String: Any]
    let checksum = (output?["checksum"] as? String) ?? (object["checksum"] as? String)
    let bytesize = output?["bytesize"] as? Int
    if job.runnerFeatures["trace_checksum"] == true, checksum == nil {
      violation("\(what): the runner advertised trace_checksum but sent no output.checksum")
    }
    if job.runnerFeatures["trace_size"] == true, bytesize == nil {
      violation("\(what): the runner advertised trace_size but sent no output.bytesize")
    }

    if checksum != nil {
      let now = ContinuousClock.now
      if let pending = job.pendingFinal {
        if pending.state != state || pending.checksum != checksum || pending.bytesize != bytesize
          || pending.failureReason != reason
        {
          violation("\(what): the final update changed between retries")
        }
      } else {
        job.pendingFinal = PendingFinalUpdate(
          createdAt: now, state: state, checksum: checksum, bytesize: bytesize, failureReason: reason)
      }
      let age = now - job.pendingFinal!.createdAt
      let incomplete = (bytesize ?? 0) > job.trace.count
      let accept =
        (incomplete && age < configuration.finalUpdateAcceptTimeout)
        || job.acceptRoundsUsed < configuration.finalUpdateAcceptRounds
      if accept {
        if !incomplete { job.acceptRoundsUsed += 1 }
        jobs[id] = job
        return .text(
          202, "202",
          headers: [
            ("X-GitLab-Trace-Update-Interval", String(configuration.finalUpdateBackoff)),
            ("Job-Status", job.status.rawValue),
          ])
      }
      checkTrace(job.trace, checksum: checksum!, bytesize: bytesize, what)
    }

    job.status = job.status == .canceling ? .canceled : (state == "success" ? .success : .failed)
    job.reportedState = state
    job.failureReason =
      state == "failed"
      ? (reason.flatMap { Self.failureReasons.contains($0) ? $0 : nil } ?? "unknown_failure") : nil
    job.exitCode = exitCode
    job.finishedByRunner = true
    jobs[id] = job
    queueVersion += 1
    return .text(200, "200", headers: [("Job-Status", job.status.rawValue)])
  }

  private func checkTrace(_ trace: Data, checksum: String, bytesize: Int?, _ what: String) {
    if let bytesize, bytesize != trace.count {
      violation("\(what): output.bytesize \(bytesize) but GitLab holds \(trace.count) bytes of log")
    }
    guard checksum.hasPrefix("crc32:"), let sent = UInt32(checksum.dropFirst(6), radix: 16) else {
      violation("\(what): output.checksum \"\(checksum)\" is not crc32:<hex>")
      return
    }
    let held = Self.crc32(trace)
    if sent != held {
      violation(
        "\(what): output.checksum \(checksum) but the log GitLab holds has crc32:\(String(format: "%08x", held))"
      )
    }
  }

  /// CRC-32 (IEEE), as the official runner sums its log; zlib's, through ZIPFoundation.
  public static func crc32(_ data: Data) -> UInt32 { data.crc32(checksum: 0) }
}
