import FlyingFox
import Foundation

/// The runner settings a `POST runners` carried, as GitLab stores them.
public struct RunnerRegistrationRecord: Sendable, Equatable {
  public var description: String?
  public var tagList: [String]
  /// Absent fields stay nil: GitLab then keeps its own default.
  public var runUntagged: Bool?
  public var locked: Bool?
  public var paused: Bool?
  public var accessLevel: String?
  public var maximumTimeout: Int?
  public var maintenanceNote: String?
  /// `info.name` of the registering runner.
  public var infoName: String?
}

extension FakeGitLab {
  /// `POST runners`: registration with a registration token (deprecated since GitLab 15.6, off by
  /// default since 17.0). Parameters are checked as `lib/api/ci/runner.rb` and `Ci::Runner` do.
  func registerRunner(_ body: Data) -> HTTPResponse {
    let what = "POST /runners"
    let object: [String: Any]
    switch jsonObject(body, what) {
    case .success(let value): object = value
    case .failure(let box): return box.response
    }
    guard let token = object["token"] as? String else {
      violation("\(what): `token` (the registration token) is missing")
      return .apiError(400, "400 Bad request - token is missing")
    }
    let record: RunnerRegistrationRecord
    switch registrationRecord(object, body: body, what) {
    case .success(let value): record = value
    case .failure(let box): return box.response
    }
    guard registrationTokens.contains(token) else { return .apiError(403, "403 Forbidden") }
    guard registrationTokensAllowed else {
      return .apiError(410, "410 Gone - runner registration disallowed")
    }
    let runnerToken = Self.randomToken(length: 20)
    addRunnerToken(runnerToken)
    runners[runnerToken]?.registration = record
    let runner = runners[runnerToken]!
    return .json(201, ["id": runner.id, "token": runnerToken, "token_expires_at": NSNull()])
  }

  private func registrationRecord(
    _ object: [String: Any], body: Data, _ what: String
  ) -> Result<RunnerRegistrationRecord, HTTPResponseBox> {
    func string(_ key: String) -> String? {
      guard let value = object[key] else { return nil }
      guard let text = value as? String else {
        violation("\(what): `\(key)` is not a string")
        return nil
      }
      return text
    }
    let typed = TypedFields(body)
    func boolean(_ key: String) -> Bool? {
      guard object[key] != nil else { return nil }
      guard let value = typed?.booleans[key] else {
        violation("\(what): `\(key)` is not a JSON boolean")
        return nil
      }
      return value
    }
    var record = RunnerRegistrationRecord(tagList: [])
    record.description = string("description")
    record.maintenanceNote = string("maintenance_note")
    record.runUntagged = boolean("run_untagged")
    record.locked = boolean("locked")
    record.paused = boolean("paused")
    record.infoName = (object["info"] as? [String: Any])?["name"] as? String
    if object["active"] != nil, object["paused"] != nil {
      return .failure(HTTPResponseBox(.apiError(400, "active, paused are mutually exclusive")))
    }
    switch object["tag_list"] {
    case nil: break
    case let text as String:
      record.tagList = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    case let list as [String]:
      record.tagList = list
    default:
      violation("\(what): `tag_list` is neither a comma-separated string nor an array of strings")
    }
    if let level = string("access_level") {
      guard ["not_protected", "ref_protected"].contains(level) else {
        return .failure(HTTPResponseBox(.apiError(400, "access_level does not have a valid value")))
      }
      record.accessLevel = level
    }
    if object["maximum_timeout"] != nil {
      guard let number = typed?.integers["maximum_timeout"] else {
        violation("\(what): `maximum_timeout` is not an integer")
        return .failure(HTTPResponseBox(.apiError(400, "maximum_timeout is invalid")))
      }
      guard number >= 600 else {
        return .failure(
          HTTPResponseBox(.json(400, ["message": ["maximum_timeout": ["needs to be at least 10 minutes"]]])))
      }
      record.maximumTimeout = number
    }
    if let note = record.maintenanceNote, note.count > 1024 {
      return .failure(
        HTTPResponseBox(
          .json(400, ["message": ["maintenance_note": ["is too long (maximum is 1024 characters)"]]])))
    }
    return .success(record)
  }
}

/// The typed fields of a registration, read with `JSONDecoder`, which (unlike `JSONSerialization`
/// on Linux) tells `true` from `1`.
private struct TypedFields: Decodable {
  var booleans: [String: Bool] = [:]
  var integers: [String: Int] = [:]

  init?(_ body: Data) {
    guard let value = try? JSONDecoder().decode(Self.self, from: body) else { return nil }
    self = value
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    for name in ["run_untagged", "locked", "paused"] {
      booleans[name] = try? container.decodeIfPresent(Bool.self, forKey: Key(name))
    }
    integers["maximum_timeout"] = try? container.decodeIfPresent(Int.self, forKey: Key("maximum_timeout"))
  }

  struct Key: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
}
