import FlyingFox
import Foundation

extension FakeGitLab {
  enum Route {
    case known(Endpoint, jobID: Int64?)
    case wrongMethod
    case unknown
  }

  func handleAPI(_ request: HTTPRequest) async -> HTTPResponse {
    let route = Self.route(method: request.method.rawValue, path: request.path)
    let response: HTTPResponse
    switch route {
    case .unknown:
      violation("\(request.method.rawValue) \(request.path): no such GitLab API path")
      response = .apiError(404, "404 Not Found")
    case .wrongMethod:
      violation("\(request.method.rawValue) \(request.path): GitLab has this path but not this method")
      response = .apiError(405, "405 Method Not Allowed")
    case .known(let endpoint, let jobID):
      if let fault = faultInjector.fault(for: endpoint) {
        injectedFaults.append(InjectedFault(endpoint: endpoint, fault: fault))
        if fault == .dropConnectionAfterProcessing {
          _ = await dispatch(endpoint, jobID: jobID, request: request)
          if endpoint == .patchTrace, let jobID { jobs[jobID]?.lastTraceReplyLost = true }
        }
        response = .fault(fault)
      } else {
        response = await dispatch(endpoint, jobID: jobID, request: request)
      }
    }
    requests.append(
      RequestRecord(method: request.method.rawValue, path: request.path, status: response.statusCode.code))
    return response
  }

  private func dispatch(_ endpoint: Endpoint, jobID: Int64?, request: HTTPRequest) async -> HTTPResponse {
    let body: Data
    do {
      body = try await request.bodyData
    } catch {
      violation("\(request.path): the request body could not be read (\(error))")
      return .apiError(400, "400 Bad request")
    }
    switch (endpoint, jobID) {
    case (.registerRunner, _): return registerRunner(body)
    case (.verifyRunner, _): return verifyRunner(body)
    case (.unregisterRunner, _): return unregisterRunner(body)
    case (.unregisterRunnerManager, _): return unregisterRunnerManager(body)
    case (.requestJob, _):
      var response = await requestJob(body, headers: request.headers)
      if response.headers[HTTPHeader("X-GitLab-Last-Update")] == nil {
        response.headers[HTTPHeader("X-GitLab-Last-Update")] = currentLastUpdate
      }
      return response
    case (.updateJob, let id?): return updateJob(id, body: body, headers: request.headers)
    case (.patchTrace, let id?): return patchTrace(id, body: body, headers: request.headers)
    case (.uploadArtifacts, let id?): return await uploadArtifacts(id, body: body, request: request)
    case (.downloadArtifacts, let id?):
      return downloadArtifacts(id, headers: request.headers, query: request.query)
    default: return .apiError(404, "404 Not Found")
    }
  }

  static func route(method: String, path: String) -> Route {
    let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 4, parts[0].isEmpty, parts[1] == "api", parts[2] == "v4" else { return .unknown }
    let rest = Array(parts[3...])
    let table: [(path: [String], method: String, endpoint: Endpoint)] = [
      (["runners"], "POST", .registerRunner),
      (["runners"], "DELETE", .unregisterRunner),
      (["runners", "verify"], "POST", .verifyRunner),
      (["runners", "managers"], "DELETE", .unregisterRunnerManager),
      (["jobs", "request"], "POST", .requestJob),
      (["jobs", ":id"], "PUT", .updateJob),
      (["jobs", ":id", "trace"], "PATCH", .patchTrace),
      (["jobs", ":id", "artifacts"], "POST", .uploadArtifacts),
      (["jobs", ":id", "artifacts"], "GET", .downloadArtifacts),
    ]
    var pathMatched = false
    for entry in table where entry.path.count == rest.count {
      var jobID: Int64?
      let matches = zip(entry.path, rest).allSatisfy { pattern, part in
        if pattern == ":id" {
          jobID = Int64(part)
          return jobID != nil && part != "request"
        }
        return pattern == part
      }
      guard matches else { continue }
      pathMatched = true
      if entry.method == method { return .known(entry.endpoint, jobID: jobID) }
    }
    return pathMatched ? .wrongMethod : .unknown
  }

  /// Parses a JSON object body strictly; records a violation and gives GitLab's 400 otherwise.
  func jsonObject(_ body: Data, _ what: String) -> Result<[String: Any], HTTPResponseBox> {
    guard !body.isEmpty else {
      violation("\(what): empty body, expected a JSON object")
      return .failure(HTTPResponseBox(.apiError(400, "400 Bad request - body is empty")))
    }
    guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
      violation("\(what): body is not a JSON object")
      return .failure(HTTPResponseBox(.apiError(400, "400 Bad request - invalid JSON")))
    }
    return .success(object)
  }

  static func header(_ headers: HTTPHeaders, _ name: String) -> String? {
    headers[HTTPHeader(name)]
  }
}

/// Lets a response travel in a `Result`'s failure.
struct HTTPResponseBox: Error {
  let response: HTTPResponse
  init(_ response: HTTPResponse) { self.response = response }
}
