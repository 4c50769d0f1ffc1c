import Foundation
import HTTP
import Protocols
import RunnerCore

/// The runner registration calls: `POST runners`, `POST runners/verify`, `DELETE runners`,
/// `DELETE runners/managers`. All send the token in the body and as `RUNNER-TOKEN`, as the
/// official runner does.
extension GitLabClient {
  /// GitLab's prefix for the authentication tokens of runners created in its UI or API.
  package static let createdRunnerTokenPrefix = "glrt-"

  package static func isCreatedRunnerToken(_ token: String) -> Bool {
    token.hasPrefix(createdRunnerTokenPrefix)
  }

  /// `POST runners` with a registration token: GitLab creates the runner and answers its
  /// authentication token. Not retried: a lost reply may still have created a runner.
  package func registerRunner(_ registration: RunnerRegistration, registrationToken: String)
    async throws(RunnerRegistrationError) -> RegisteredRunner
  {
    let path = "runners"
    let body = GitLabRequestBody.RegisterRunner(
      token: registrationToken, description: registration.description,
      tag_list: registration.tags.isEmpty ? nil : registration.tags.joined(separator: ","),
      run_untagged: registration.runUntagged, locked: registration.locked, paused: registration.paused,
      access_level: registration.accessLevel?.rawValue, maximum_timeout: registration.maximumTimeout,
      maintenance_note: registration.maintenanceNote, info: identity.info)

    let response = try await registrationCall(path, method: .post, body, token: registrationToken)
    switch response.status {
    case 201:
      struct Reply: Decodable {
        package var id: Int64
        package var token: String
        package var token_expires_at: String?
      }
      guard let reply = try? JSONDecoder().decode(Reply.self, from: response.body), !reply.token.isEmpty
      else {
        throw .gitlab(
          .malformedReply(
            endpoint: path,
            detail:
              "the 201 reply has no runner id and token; the runner may exist in GitLab without a usable token"
          ))
      }
      return RegisteredRunner(id: reply.id, token: reply.token, tokenExpiresAt: reply.token_expires_at)
    case 401, 403: throw .registrationTokenRejected
    case 410: throw .registrationTokensDisabled
    case 400, 422: throw .registrationRefused(detail: apiMessage(response))
    default: throw .gitlab(unexpected(path, response))
    }
  }

  /// `POST runners/verify` with this client's `runnerToken` and `system_id`. For a `glrt-`
  /// token GitLab also records this host as one of the runner's managers.
  package func verifyRunner() async throws(RunnerRegistrationError) -> VerifiedRunner {
    let path = "runners/verify"
    let body = GitLabRequestBody.RunnerToken(token: runnerToken, system_id: identity.systemID)
    let response = try await registrationCall(path, method: .post, body, token: runnerToken)
    switch response.status {
    case 200:
      // GitLab 16+ answers the registration details; older ones the text "200".
      struct Reply: Decodable {
        package var id: Int64?
        package var token_expires_at: String?
      }
      let reply = try? JSONDecoder().decode(Reply.self, from: response.body)
      return VerifiedRunner(id: reply?.id, tokenExpiresAt: reply?.token_expires_at)
    case 401, 403: throw .runnerTokenRejected(endpoint: path)
    case 422: throw .runnerOrphaned
    default: throw .gitlab(unexpected(path, response))
    }
  }

  /// `DELETE runners`: deletes the runner itself; its token stops working.
  package func deleteRunner() async throws(RunnerRegistrationError) {
    let path = "runners"
    let response = try await registrationCall(
      path, method: .delete, GitLabRequestBody.RunnerToken(token: runnerToken, system_id: nil),
      token: runnerToken)
    switch response.status {
    case 204, 200: return
    case 401, 403: throw .runnerTokenRejected(endpoint: path)
    default: throw .gitlab(unexpected(path, response))
    }
  }

  /// `DELETE runners/managers`: forgets this host (`system_id`) as a manager of a `glrt-`
  /// runner; the runner and its token stay.
  package func deleteRunnerManager() async throws(RunnerRegistrationError) {
    let path = "runners/managers"
    let body = GitLabRequestBody.RunnerToken(token: runnerToken, system_id: identity.systemID)
    let response = try await registrationCall(path, method: .delete, body, token: runnerToken)
    switch response.status {
    case 204, 200: return
    case 401, 403: throw .runnerTokenRejected(endpoint: path)
    case 404: throw .runnerManagerNotFound(systemID: identity.systemID)
    default: throw .gitlab(unexpected(path, response))
    }
  }

  private func registrationCall(
    _ path: String, method: HTTPMethod, _ body: some Encodable, token: String
  ) async throws(RunnerRegistrationError) -> HTTPResponse {
    do {
      return try await send(path, method: method, json: body, headers: ["RUNNER-TOKEN": token])
    } catch {
      throw .gitlab(error)
    }
  }

  /// GitLab's `{"message": …}` (a string, or field → [errors]), masked, for messages.
  private func apiMessage(_ response: HTTPResponse) -> String {
    let text = String(decoding: response.body.prefix(1024), as: UTF8.self)
    guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
      let message = object["message"]
    else { return mask(text) }
    if let string = message as? String { return mask(string) }
    if let fields = message as? [String: Any] {
      let parts = fields.keys.sorted().map { key in
        let errors = (fields[key] as? [Any])?.map { "\($0)" } ?? ["\(fields[key] ?? "")"]
        return "\(key) \(errors.joined(separator: ", "))"
      }
      return mask(parts.joined(separator: "; "))
    }
    return mask(text)
  }
}

/// What a legacy registration asks GitLab for. Defaults suit a LAVA runner: it takes only jobs
/// tagged for it, and stays with the project it was registered in.
package struct RunnerRegistration: Sendable, Equatable {
  package enum AccessLevel: String, Sendable, CaseIterable {
    case notProtected = "not_protected"
    case refProtected = "ref_protected"
  }

  package var description: String?
  package var tags: [String] = []
  package var runUntagged = false
  package var locked = true
  package var paused = false
  package var accessLevel: AccessLevel?
  /// Seconds; GitLab accepts 600 or more.
  package var maximumTimeout: Int?
  package var maintenanceNote: String?

  package init(
    description: String? = nil, tags: [String] = [], runUntagged: Bool = false, locked: Bool = true,
    paused: Bool = false, accessLevel: AccessLevel? = nil, maximumTimeout: Int? = nil,
    maintenanceNote: String? = nil
  ) {
    self.runUntagged = runUntagged
    self.locked = locked
    self.paused = paused
    self.description = description
    self.tags = tags
    self.accessLevel = accessLevel
    self.maximumTimeout = maximumTimeout
    self.maintenanceNote = maintenanceNote
  }
}

/// A runner GitLab created on registration. `token` is the runner's authentication token: a
/// secret, shown to the user once and never logged.
package struct RegisteredRunner: Sendable, Equatable {
  package var id: Int64
  package var token: String
  package var tokenExpiresAt: String?
}

/// What `runners/verify` says about a valid token (older GitLab versions say nothing).
package struct VerifiedRunner: Sendable, Equatable {
  package var id: Int64?
  package var tokenExpiresAt: String?
}
