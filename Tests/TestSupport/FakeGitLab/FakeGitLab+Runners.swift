import FlyingFox
import Foundation

extension FakeGitLab {
  /// `POST runners/verify`: 200 for a valid token, 403 otherwise.
  func verifyRunner(_ body: Data) -> HTTPResponse {
    let object: [String: Any]
    switch jsonObject(body, "POST /runners/verify") {
    case .success(let value): object = value
    case .failure(let box): return box.response
    }
    guard let token = object["token"] as? String else {
      violation("POST /runners/verify: `token` is missing")
      return .apiError(400, "400 Bad request - token is missing")
    }
    let systemID = object["system_id"].flatMap { checkSystemID($0, "POST /runners/verify") }
    guard var runner = runners[token] else { return .apiError(403, "403 Forbidden") }
    // GitLab 16+ creates the runner manager of this host (system_id) on verify and answers
    // with the runner's registration details (`Entities::Ci::RunnerRegistrationDetails`).
    if let systemID {
      runner.systemIDs.insert(systemID)
      runners[token] = runner
    }
    return .json(200, ["id": runner.id, "token": token, "token_expires_at": NSNull()])
  }

  /// `DELETE runners`: removes the runner; its token is dead from now on.
  func unregisterRunner(_ body: Data) -> HTTPResponse {
    let object: [String: Any]
    switch jsonObject(body, "DELETE /runners") {
    case .success(let value): object = value
    case .failure(let box): return box.response
    }
    guard let token = object["token"] as? String else {
      violation("DELETE /runners: `token` is missing")
      return .apiError(400, "400 Bad request - token is missing")
    }
    guard runners[token] != nil else { return .apiError(403, "403 Forbidden") }
    removeRunner(token: token)
    return .empty(204)
  }

  /// `DELETE runners/managers`: forgets one host (`system_id`) of a `glrt-` runner; the token stays valid.
  func unregisterRunnerManager(_ body: Data) -> HTTPResponse {
    let object: [String: Any]
    switch jsonObject(body, "DELETE /runners/managers") {
    case .success(let value): object = value
    case .failure(let box): return box.response
    }
    guard let token = object["token"] as? String, let systemID = object["system_id"] as? String else {
      violation("DELETE /runners/managers: `token` and `system_id` are both required")
      return .apiError(400, "400 Bad request - token or system_id is missing")
    }
    guard var runner = runners[token] else { return .apiError(403, "403 Forbidden") }
    guard runner.systemIDs.remove(systemID) != nil else {
      return .apiError(404, "404 Runner manager Not Found")
    }
    runners[token] = runner
    return .empty(204)
  }

  /// The official runner sends `s_` + 12 characters derived from the machine id, or `r_` + 12
  /// random ones, and itself accepts only `^[sr]_[0-9a-zA-Z]{12}$` (`common/system_id_state.go`).
  @discardableResult
  func checkSystemID(_ value: Any, _ what: String) -> String? {
    guard let systemID = value as? String else {
      violation("\(what): `system_id` is not a string")
      return nil
    }
    let body = systemID.dropFirst(2)
    let valid =
      (systemID.hasPrefix("s_") || systemID.hasPrefix("r_")) && body.count == 12
      && body.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    if !valid {
      violation("\(what): `system_id` \"\(systemID)\" does not match ^[sr]_[0-9a-zA-Z]{12}$")
    }
    return systemID
  }
}
