import FlyingFox
import Foundation

extension FakeLAVA {
  struct Route {
    var endpoint: Endpoint
    var jobID: Int64?
  }

  func handle(_ request: HTTPRequest) async -> HTTPResponse {
    if request.target.path() == "/ws/" { return await events.response(to: request) }
    requestsInFlight += 1
    maxRequestsInFlight = max(maxRequestsInFlight, requestsInFlight)
    let delay = responseDelay
    if delay > .zero { try? await Task.sleep(for: delay) }
    let (endpoint, response) = await answer(request)
    requestsInFlight -= 1
    let query = request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    requests.append(
      RequestRecord(
        endpoint: endpoint, method: request.method.rawValue, path: request.target.path(), query: query,
        status: response.statusCode.code))
    return response
  }

  private func answer(_ request: HTTPRequest) async -> (Endpoint?, HTTPResponse) {
    let method = request.method.rawValue
    guard var route = Self.route(path: request.target.path()) else {
      violation("\(method) \(request.target.path()): no such LAVA API path")
      return (nil, Self.json(404, ["detail": "Not found."]))
    }
    if route.endpoint == .submit && method == "GET" { route.endpoint = .jobList }
    let expectedMethod = route.endpoint == .submit ? "POST" : "GET"
    guard method == expectedMethod else {
      violation("\(method) \(request.target.path()): LAVA answers this path to \(expectedMethod) only")
      return (route.endpoint, Self.json(405, ["detail": "Method \"\(method)\" not allowed."]))
    }
    guard request.target.path().hasSuffix("/") else {
      violation("\(method) \(request.target.path()): LAVA redirects paths without a trailing slash")
      return (route.endpoint, Self.json(404, ["detail": "Not found."]))
    }
    if let fault = faults[route.endpoint]?.first {
      faults[route.endpoint]?.removeFirst()
      injectedFaults.append((route.endpoint, fault))
      return (route.endpoint, Self.response(for: fault))
    }
    guard request.headers[HTTPHeader("Authorization")] == "Token \(token)" else {
      return (route.endpoint, Self.json(403, ["detail": "Invalid token."]))
    }
    let body: Data
    do {
      body = try await request.bodyData
    } catch {
      violation("\(method) \(request.target.path()): the body could not be read (\(error))")
      return (route.endpoint, Self.json(400, ["detail": "unreadable body"]))
    }
    return (route.endpoint, dispatch(route, request: request, body: body))
  }

  private func dispatch(_ route: Route, request: HTTPRequest, body: Data) -> HTTPResponse {
    let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    switch route.endpoint {
    case .version: return Self.json(200, ["version": "2023.01"])
    case .submit: return submit(body)
    case .jobList: return list(request)
    case .devices: return deviceList(request)
    case .cancel: return cancel(route.jobID ?? 0)
    default: break
    }
    guard let id = route.jobID, let job = jobs[id] else { return Self.json(404, ["detail": "Not found."]) }
    switch route.endpoint {
    case .job: return Self.json(200, Self.detail(job))
    case .logs:
      guard let start = Int(query["start"] ?? "0"), start >= 0 else {
        violation("logs: start '\(query["start"] ?? "")' is not a line index")
        return Self.json(404, ["detail": "Not found."])
      }
      guard start < job.log.count else { return Self.json(404, ["detail": "Not found."]) }
      // LAVA: `end` is exclusive; past the end, or absent, means to the end.
      let end = min(Int(query["end"] ?? "") ?? job.log.count, job.log.count)
      guard end > start else { return Self.json(404, ["detail": "Not found."]) }
      let text = job.log[start..<end].map { $0 + "\n" }.joined()
      return HTTPResponse(
        statusCode: HTTPStatusCode(200, phrase: "OK"), headers: [.contentType: "application/yaml"],
        body: Data(text.utf8))
    case .junit:
      return HTTPResponse(
        statusCode: HTTPStatusCode(200, phrase: "OK"), headers: [.contentType: "application/xml"],
        body: Data(job.junit.utf8))
    case .suites, .tests:
      return testLists(route.endpoint, job: job, request: request, page: Int(query["page"] ?? "1") ?? 1)
    default:
      return Self.json(404, ["detail": "Not found."])
    }
  }

  private func submit(_ body: Data) -> HTTPResponse {
    guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
      let definition = object["definition"] as? String
    else {
      violation("POST jobs/: the body is not a JSON object with a definition")
      return Self.json(400, ["definition": ["This field is required."]])
    }
    submittedDefinitions.append(definition)
    guard !definition.isEmpty else { return Self.json(400, ["definition": ["This field may not be blank."]]) }
    guard definition.contains("actions:") else {
      // Quotes the definition's first line, as LAVA quotes parts of bad definitions.
      let first = definition.split(separator: "\n").first.map(String.init) ?? ""
      return Self.json(
        400,
        ["message": "Problem with submitted job data: required key not provided @ data['actions'] (\(first))"]
      )
    }
    let id = addJob(FakeLAVAJob(description: Self.jobName(definition) ?? "submitted"))
    definitions[id] = definition
    return Self.json(201, ["message": "job(s) successfully submitted", "job_ids": [id]])
  }

  private func cancel(_ id: Int64) -> HTTPResponse {
    guard var job = jobs[id] else {
      return HTTPResponse(
        statusCode: HTTPStatusCode(500, phrase: "Internal Server Error"),
        headers: [.contentType: "text/html"],
        body: Data("<!DOCTYPE html><html><body><h1>Server Error (500)</h1></body></html>".utf8))
    }
    if job.state != "Finished" {
      job.state = "Finished"
      job.health = "Canceled"
      jobs[id] = job
    }
    return Self.json(200, ["message": "Job \(id) canceled"])
  }

  private func list(_ request: HTTPRequest) -> HTTPResponse {
    let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    var selected = jobs.values.sorted { $0.id < $1.id }
    if let filter = query["id__in"] {
      let ids = filter.split(separator: ",").map { Int64($0) }
      guard ids.allSatisfy({ $0 != nil }) else {
        violation("jobs/: id__in '\(filter)' is not a list of integers (LAVA answers 500)")
        return Self.json(500, ["detail": "bad filter"])
      }
      let wanted = Set(ids.compactMap(\.self))
      selected = selected.filter { wanted.contains($0.id) }
    }
    // The filters the queue watchdog uses, as LAVA's REST API applies them.
    if let state = query["state"] { selected = selected.filter { $0.state == state } }
    if let states = query["state__in"], !ignoresStateFilter {
      let wanted = Set(states.split(separator: ",").map(String.init))
      selected = selected.filter { wanted.contains($0.state) }
    }
    if let type = query["requested_device_type"] { selected = selected.filter { $0.deviceType == type } }
    if let below = query["id__lt"] {
      guard let bound = Int64(below) else {
        violation("jobs/: id__lt '\(below)' is not an integer (LAVA answers 500)")
        return Self.json(500, ["detail": "bad filter"])
      }
      selected = selected.filter { $0.id < bound }
    }
    if let text = query["description__contains"] {
      selected = selected.filter { $0.description.contains(text) }
    }
    let offset = Int(query["offset"] ?? "0") ?? 0
    let limit = min(Int(query["limit"] ?? "\(pageSize)") ?? pageSize, maxLimit ?? .max)
    let page = Array(selected.dropFirst(offset).prefix(limit))
    var next: Any = NSNull()
    if offset + limit < selected.count {
      var components = URLComponents(
        string: "\(nextLinkOrigin ?? "http://127.0.0.1:\(port)")\(request.target.path())")!
      components.queryItems =
        request.query.filter { $0.name != "offset" && $0.name != "limit" }
        .map { URLQueryItem(name: $0.name, value: $0.value) }
        + [
          URLQueryItem(name: "limit", value: "\(limit)"),
          URLQueryItem(name: "offset", value: "\(offset + limit)"),
        ]
      next = components.string!
    }
    return Self.json(
      200, ["count": selected.count, "next": next, "previous": NSNull(), "results": page.map(Self.detail)])
  }

  /// `devices/?device_type=`: one page of at most `pageSize`, followed by `next` links.
  private func deviceList(_ request: HTTPRequest) -> HTTPResponse {
    let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    let selected = devices.filter { query["device_type"].map($0.deviceType.elementsEqual) ?? true }
    let offset = Int(query["offset"] ?? "0") ?? 0
    let page = selected.dropFirst(offset).prefix(pageSize)
    let next: Any =
      offset + pageSize < selected.count
      ? "\(nextLinkOrigin ?? "http://127.0.0.1:\(port)")\(request.target.path())?device_type="
        + "\(query["device_type"] ?? "")&limit=\(pageSize)&offset=\(offset + pageSize)" : NSNull()
    let results: [[String: Any]] = page.map {
      [
        "hostname": $0.hostname, "device_type": $0.deviceType, "health": $0.health, "state": $0.state,
        "tags": [],
      ]
    }
    return Self.json(200, ["count": selected.count, "next": next, "previous": NSNull(), "results": results])
  }

  private func testLists(_ endpoint: Endpoint, job: FakeLAVAJob, request: HTTPRequest, page: Int)
    -> HTTPResponse
  {
    var suiteNames: [String] = []
    for test in job.testCases where !suiteNames.contains(test.suite) { suiteNames.append(test.suite) }
    let suiteID = { (name: String) in Int64(suiteNames.firstIndex(of: name)! + 1) }
    let items: [[String: Any]] =
      endpoint == .suites
      ? suiteNames.map { ["id": suiteID($0), "name": $0, "job": job.id] }
      : job.testCases.enumerated().map { index, test in
        [
          "id": index + 1, "name": test.name, "result": test.result, "suite": suiteID(test.suite),
          "measurement": test.measurement as Any? ?? NSNull(), "unit": test.unit, "metadata": "",
        ]
      }
    let slice = Array(items.dropFirst((page - 1) * pageSize).prefix(pageSize))
    let next: Any =
      page * pageSize < items.count
      ? "\(nextLinkOrigin ?? "http://127.0.0.1:\(port)")\(request.target.path())?page=\(page + 1)" : NSNull()
    return Self.json(200, ["count": items.count, "next": next, "previous": NSNull(), "results": slice])
  }

  static func detail(_ job: FakeLAVAJob) -> [String: Any] {
    [
      "id": job.id, "state": job.state, "health": job.health, "description": job.description,
      "requested_device_type": job.deviceType, "actual_device": job.device as Any? ?? NSNull(),
      "failure_comment": job.failureComment as Any? ?? NSNull(), "submitter": "tester", "tags": [],
      "definition": "", "token": "",
    ]
  }

  static func route(path: String) -> Route? {
    let parts = path.split(separator: "/").map(String.init)
    guard parts.count >= 3, parts[0] == "api", parts[1] == "v0.2" else { return nil }
    let rest = Array(parts[2...])
    switch rest.count {
    case 2 where rest == ["system", "version"]: return Route(endpoint: .version)
    case 1 where rest[0] == "jobs": return Route(endpoint: .submit)
    case 1 where rest[0] == "devices": return Route(endpoint: .devices)
    case 2 where rest[0] == "jobs": return Int64(rest[1]).map { Route(endpoint: .job, jobID: $0) }
    case 3 where rest[0] == "jobs":
      guard let id = Int64(rest[1]) else { return nil }
      let table: [String: Endpoint] = [
        "logs": .logs, "junit": .junit, "suites": .suites, "tests": .tests, "cancel": .cancel,
      ]
      return table[rest[2]].map { Route(endpoint: $0, jobID: id) }
    default: return nil
    }
  }

  static func response(for fault: Fault) -> HTTPResponse {
    switch fault {
    case .dropConnection:
      return HTTPResponse(webSocket: FakeLAVADroppedConnection())
    case .status(let code, let retryAfter):
      var headers: HTTPHeaders = [.contentType: "application/json"]
      if let retryAfter { headers[HTTPHeader("Retry-After")] = "\(retryAfter)" }
      return HTTPResponse(
        statusCode: HTTPStatusCode(code, phrase: "Injected"), headers: headers,
        body: Data("{\"detail\": \"injected \(code)\"}".utf8))
    case .reply(let code, let body):
      return HTTPResponse(
        statusCode: HTTPStatusCode(code, phrase: "Injected"), headers: [.contentType: "application/json"],
        body: Data(body.utf8))
    }
  }

  static func json(_ code: Int, _ object: Any) -> HTTPResponse {
    let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return HTTPResponse(
      statusCode: HTTPStatusCode(code, phrase: code < 300 ? "OK" : "Error"),
      headers: [.contentType: "application/json"], body: body)
  }
}

/// FlyingFox writes a response head only after a WebSocket handler made its frames; one that
/// throws there makes the server close the socket with nothing written.
struct FakeLAVADroppedConnection: WSHandler {
  struct Dropped: Error {}
  func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
    throw Dropped()
  }
}

extension FakeLAVA {
  /// The definition's top-level `job_name` on one line, unquoted: what LAVA keeps as the job's
  /// description.
  static func jobName(_ definition: String) -> String? {
    guard let line = definition.split(separator: "\n").first(where: { $0.hasPrefix("job_name:") }) else {
      return nil
    }
    var value = line.dropFirst("job_name:".count).trimmingCharacters(in: .whitespaces)
    if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
      value = String(value.dropFirst().dropLast())
    }
    return value
  }
}
