import ArgumentParser
import Foundation

/// One setting of the command line, declared once: its option (or argument), the environment
/// variables that stand in for it, and its default. The option's help text is built from it
/// and the value is resolved through it (the option, then each variable in turn, then the
/// default), so that what `--help` says and what the runner does cannot disagree.
struct CLISetting: Sendable {
  /// What a setting is when neither the option nor any variable gives it.
  enum Default: Sendable {
    /// Unset; nothing said in the help.
    case none
    /// Unset, and the help says what that means (e.g. "off").
    case unset(String)
    /// This text, parsed as if it had been given.
    case value(String)
    /// Computed when resolved; `description` is what the help says.
    case computed(description: String, value: @Sendable (SettingsEnvironment) -> String)

    /// The words after "default " in the help, if any.
    var description: String? {
      switch self {
      case .none: nil
      case .unset(let text): text
      case .value(let text): text
      case .computed(let text, _): text
      }
    }

    func value(in environment: SettingsEnvironment) -> String? {
      switch self {
      case .none, .unset: nil
      case .value(let text): text
      case .computed(_, let value): value(environment)
      }
    }
  }

  /// The long option without dashes (e.g. `concurrent`), or the value name of an argument.
  let name: String
  /// Whether the setting is a positional argument rather than `--name`.
  let isArgument: Bool
  /// Read in this order when the option is not given.
  let environment: [String]
  let defaultValue: Default
  /// What the setting is for, one sentence without the final period.
  let summary: String
  /// How a yes/no setting is given, nil for a setting with a value.
  let flag: FlagStyle?

  enum FlagStyle: Sendable {
    /// `--name` turns it on, as `VARIABLE=true` does (the help shows that).
    case onlyOn
    /// `--name` and `--no-name`, `VARIABLE=true` or `false`.
    case onOrOff
  }

  init(
    option name: String, summary: String, environment: [String] = [], default defaultValue: Default = .none,
    flag: FlagStyle? = nil
  ) {
    self.name = name
    self.isArgument = false
    self.summary = summary
    self.environment = environment
    self.defaultValue = defaultValue
    self.flag = flag
  }

  init(argument name: String, summary: String, environment: [String]) {
    self.name = name
    self.isArgument = true
    self.summary = summary
    self.environment = environment
    self.defaultValue = .none
    self.flag = nil
  }

  /// "(env: A, then B; default X)": the part of the help that names where else the value
  /// comes from.
  var sources: String {
    var parts: [String] = []
    if !environment.isEmpty {
      let names = environment.map { flag == .onlyOn ? "\($0)=true" : $0 }
      parts.append("env: " + names.joined(separator: ", then "))
    }
    if let text = defaultValue.description { parts.append("default " + text) }
    return parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")"
  }

  var help: ArgumentHelp { ArgumentHelp(summary + sources + ".") }

  /// The option's text, else the first set variable's, else the default's.
  func resolve(_ given: String?, in environment: SettingsEnvironment) -> String? {
    resolveGiven(given, in: environment) ?? defaultValue.value(in: environment)
  }

  /// The option's text, else the first set variable's: what the user chose, if anything.
  func resolveGiven(_ given: String?, in environment: SettingsEnvironment) -> String? {
    source(given, in: environment)?.text
  }

  /// The chosen text and the variable it came from (nil: the option).
  private func source(_ given: String?, in environment: SettingsEnvironment) -> (
    text: String, variable: String?
  )? {
    if let given { return (given, nil) }
    for variable in self.environment {
      if let value = environment[variable] { return (value, variable) }
    }
    return nil
  }

  /// The resolved text as `T`, or nil when the setting is unset.
  func resolve<T>(
    _ given: String?, in environment: SettingsEnvironment, expected: String, _ parse: (String) -> T?
  ) throws(SettingsError) -> T? {
    let chosen = source(given, in: environment)
    guard let text = chosen?.text ?? defaultValue.value(in: environment) else { return nil }
    guard let value = parse(text) else {
      // Names the variable, which the user may not know is set.
      let origin = chosen?.variable.map { " (from \($0))" } ?? ""
      throw .invalid(name, text, expected: expected + origin)
    }
    return value
  }

  /// Like `resolve`, for a setting that has a default.
  func required<T>(
    _ given: String?, in environment: SettingsEnvironment, expected: String, _ parse: (String) -> T?
  ) throws(SettingsError) -> T {
    guard let value = try resolve(given, in: environment, expected: expected, parse) else {
      throw .invalid(name, "", expected: expected)
    }
    return value
  }

  /// A flag: as given, else as its variable says (true/false, 1/0, yes/no, on/off), else the
  /// default (unless `includingDefault` is false: then nil, nothing was chosen).
  func resolveFlag(
    _ given: Bool?, in environment: SettingsEnvironment, includingDefault: Bool = true
  ) throws(SettingsError) -> Bool? {
    if let given { return given }
    for variable in self.environment {
      if let value = try environment.bool(variable, option: name) { return value }
    }
    guard includingDefault else { return nil }
    return defaultValue.value(in: environment).flatMap(SettingsEnvironment.parseBool)
  }
}

/// Environment variables, empty ones treated as unset.
struct SettingsEnvironment: Sendable {
  let values: [String: String]

  init(_ values: [String: String]) { self.values = values }

  subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

  /// `true`/`false` (also 1/0, yes/no, on/off) from the variable `name`, for the option `option`.
  func bool(_ name: String, option: String) throws(SettingsError) -> Bool? {
    guard let text = self[name] else { return nil }
    guard let value = Self.parseBool(text) else {
      throw .invalid(option, text, expected: "true or false (from \(name))")
    }
    return value
  }

  static func parseBool(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "true", "1", "yes", "on": true
    case "false", "0", "no", "off": false
    default: nil
    }
  }
}
