import Foundation
import RunnerCore

/// The GitLab instance and runner token a runner works with, validated.
struct GitLabConnectionSettings: Sendable, Equatable {
  /// The instance's base URL, without a trailing slash.
  let url: URL
  let token: String

  init(url rawURL: String?, token rawToken: String?, environment values: [String: String])
    throws(SettingsError)
  {
    let environment = SettingsEnvironment(values)
    let urlSetting = CLISetting.gitLabURL
    guard let rawURL = urlSetting.resolve(rawURL, in: environment), !rawURL.isEmpty else {
      throw .missing("URL", environment: urlSetting.environment.joined(separator: " or "))
    }
    let tokenSetting = CLISetting.runnerToken
    guard let rawToken = tokenSetting.resolve(rawToken, in: environment), !rawToken.isEmpty else {
      throw .missing("TOKEN", environment: tokenSetting.environment.joined(separator: " or "))
    }
    self.url = try Self.validatedURL(rawURL)
    guard rawToken.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }) else {
      throw .malformedToken
    }
    self.token = rawToken
  }

  private static func validatedURL(_ raw: String) throws(SettingsError) -> URL {
    guard let components = URLComponents(string: raw),
      let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
      let host = components.host, !host.isEmpty
    else {
      throw .malformedURL(raw, reason: "expected http:// or https:// followed by a host name")
    }
    if components.user != nil || components.password != nil {
      throw .malformedURL(
        "\(scheme)://…@\(host)", reason: "credentials in the URL are not supported; pass the token separately"
      )
    }
    if components.query != nil || components.fragment != nil {
      throw .malformedURL(raw, reason: "a query or fragment has no place in the GitLab URL")
    }
    var normalized = components
    while normalized.path.hasSuffix("/") { normalized.path.removeLast() }
    if normalized.path.hasSuffix("/api/v4") {
      throw .malformedURL(raw, reason: "give the instance's address without /api/v4")
    }
    guard let url = normalized.url else {
      throw .malformedURL(raw, reason: "it is not a valid URL")
    }
    return url
  }
}

enum SettingsError: Error, Equatable, CustomStringConvertible {
  case missing(String, environment: String)
  case malformedURL(String, reason: String)
  case malformedToken
  case invalid(String, String, expected: String)

  var description: String {
    switch self {
    case .missing(let argument, let variable):
      "no GitLab \(argument) given: pass it as an argument or set \(variable)"
    case .malformedURL(let url, let reason):
      "the GitLab URL '\(url)' is not usable: \(reason)"
    case .invalid(let option, let value, let expected):
      "--\(option) '\(value)' is not usable: expected \(expected)"
    case .malformedToken:
      "the runner token contains spaces or non-ASCII characters; copy it again from GitLab's runner page"
    }
  }
}
