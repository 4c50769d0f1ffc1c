import Foundation
import TestSupport

/// Speaks the runner API the way the official runner does, so each test changes one thing.
struct RunnerClient {
  let api: String
  var token = "glrt-fake-runner-token"
  var systemID = "s_0123456789ab"
  var features: [String: Bool] = [
    "cancelable": true, "trace_reset": true, "trace_checksum": true, "trace_size": true, "masking": true,
    "return_exit_code": true,
  ]

  init(_ gitlab: FakeGitLab) async {
    api = await gitlab.url.absoluteString + "/api/v4"
  }

  func requestJob(lastUpdate: String? = nil) async throws -> Curl.Reply {
    var body: [String: Any] = [
      "token": token, "system_id": systemID,
      "info": ["name": "lava-runner", "version": "0.1.0", "executor": "lava", "features": features],
    ]
    if let lastUpdate { body["last_update"] = lastUpdate }
    return try await Curl.send(
      "POST", "\(api)/jobs/request", headers: ["Content-Type": "application/json", "RUNNER-TOKEN": token],
      body: Curl.json(body))
  }

  func patchTrace(_ id: Int64, token: String, offset: Int, _ text: String, range: String? = nil) async throws
    -> Curl.Reply
  {
    let data = Data(text.utf8)
    return try await Curl.send(
      "PATCH", "\(api)/jobs/\(id)/trace",
      headers: [
        "JOB-TOKEN": token, "Content-Type": "text/plain",
        "Content-Range": range ?? "\(offset)-\(offset + data.count - 1)",
      ], body: data)
  }

  func update(_ id: Int64, token: String, state: String, extra: [String: Any] = [:]) async throws
    -> Curl.Reply
  {
    var body: [String: Any] = ["token": token, "state": state]
    body.merge(extra) { _, new in new }
    return try await Curl.send(
      "PUT", "\(api)/jobs/\(id)", headers: ["Content-Type": "application/json"], body: Curl.json(body))
  }

  /// A final update with the checksum and size of `log`, as the official runner sends it.
  func finish(
    _ id: Int64, token: String, log: String, state: String, reason: String? = nil, exitCode: Int? = nil
  )
    async throws -> Curl.Reply
  {
    let data = Data(log.utf8)
    var extra: [String: Any] = [
      "output": ["checksum": String(format: "crc32:%08x", FakeGitLab.crc32(data)), "bytesize": data.count]
    ]
    if let reason { extra["failure_reason"] = reason }
    if let exitCode { extra["exit_code"] = exitCode }
    return try await update(id, token: token, state: state, extra: extra)
  }

  func upload(
    _ id: Int64, token: String, file: Data, filename: String, query: String, contentType: String? = nil,
    body: Data? = nil
  ) async throws -> Curl.Reply {
    let boundary = "fakegitlab-boundary-1234"
    var form = Data("--\(boundary)\r\n".utf8)
    form += Data("Content-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n".utf8)
    form += Data("Content-Type: application/octet-stream\r\n\r\n".utf8)
    form += file
    form += Data("\r\n--\(boundary)--\r\n".utf8)
    return try await Curl.send(
      "POST", "\(api)/jobs/\(id)/artifacts?\(query)",
      headers: [
        "JOB-TOKEN": token, "Content-Type": contentType ?? "multipart/form-data; boundary=\(boundary)",
      ],
      body: body ?? form)
  }
}

/// Starts a fake with one runner token, runs `body`, stops the fake.
func withGitLab<T: Sendable>(
  _ configuration: FakeGitLab.Configuration = .init(longPollTimeout: .milliseconds(300)),
  _ body: (FakeGitLab, RunnerClient) async throws -> T
) async throws -> T {
  try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
    await gitlab.addRunnerToken("glrt-fake-runner-token")
    return try await body(gitlab, await RunnerClient(gitlab))
  }
}

extension Curl.Reply {
  var jobID: Int64? { (json?["id"] as? NSNumber)?.int64Value }
  var jobToken: String? { json?["token"] as? String }
}
