import ArgumentParser
import Foundation
import HTTP

/// TLS for GitLab and LAVA: the options of `run`, `verify`, `register`, `unregister` and
/// `exec`, each also read from its environment variable.
struct TLSOptions: ParsableArguments {
  static let settings: [CLISetting] = [.tlsCAFile, .tlsCertFile, .tlsKeyFile, .tlsInsecureSkipVerify]

  @Option(help: CLISetting.tlsCAFile.help)
  var tlsCaFile: String?

  @Option(help: CLISetting.tlsCertFile.help)
  var tlsCertFile: String?

  @Option(help: CLISetting.tlsKeyFile.help)
  var tlsKeyFile: String?

  @Flag(help: CLISetting.tlsInsecureSkipVerify.help)
  var tlsInsecureSkipVerify = false

  func httpConfiguration(environment values: [String: String]) throws(SettingsError)
    -> HTTPClientConfiguration
  {
    let environment = SettingsEnvironment(values)
    var http = HTTPClientConfiguration()
    http.proxy = .environment(values)
    if let ca = CLISetting.tlsCAFile.resolve(tlsCaFile, in: environment) {
      guard FileManager.default.isReadableFile(atPath: ca) else {
        throw .invalid(CLISetting.tlsCAFile.name, ca, expected: "a readable PEM file")
      }
      http.tls.caBundle = URL(fileURLWithPath: ca)
    }
    if let cert = CLISetting.tlsCertFile.resolve(tlsCertFile, in: environment) {
      guard let key = CLISetting.tlsKeyFile.resolve(tlsKeyFile, in: environment) else {
        throw .invalid(CLISetting.tlsKeyFile.name, "", expected: "the key of the client certificate \(cert)")
      }
      http.tls.clientCertificate = URL(fileURLWithPath: cert)
      http.tls.clientKey = URL(fileURLWithPath: key)
    }
    http.tls.insecureSkipVerify =
      try CLISetting.tlsInsecureSkipVerify.resolveFlag(
        tlsInsecureSkipVerify ? true : nil, in: environment) ?? false
    return http
  }
}

/// The GitLab instance, as the first argument, and TLS: what every command talking to GitLab
/// takes (`register` takes its tokens as options).
struct GitLabInstanceOptions: ParsableArguments {
  static let settings: [CLISetting] = [.gitLabURL] + TLSOptions.settings

  @Argument(help: CLISetting.gitLabURL.help)
  var url: String?

  @OptionGroup var tls: TLSOptions
}

/// The GitLab instance and the runner token, as arguments, and TLS: the options of `run`,
/// `verify` and `unregister`.
struct GitLabOptions: ParsableArguments {
  static let settings: [CLISetting] = GitLabInstanceOptions.settings + [.runnerToken]

  @OptionGroup var instance: GitLabInstanceOptions

  @Argument(help: CLISetting.runnerToken.help)
  var token: String?

  var tls: TLSOptions { instance.tls }

  /// The URL and token from the arguments or the environment, validated.
  func connection(environment: [String: String]) throws(SettingsError) -> GitLabConnectionSettings {
    try GitLabConnectionSettings(url: instance.url, token: token, environment: environment)
  }
}
