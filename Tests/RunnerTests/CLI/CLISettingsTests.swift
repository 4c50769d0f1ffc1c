import ArgumentParser
import Foundation
import Testing

@testable import Runner

/// Help texts, the environment and defaults come from one declaration per setting
/// (`CLISetting`): these tests fail when a subcommand's help and its resolution drift apart.
@Suite struct CLISettingsTests {
  /// Every subcommand with its declared settings, or none.
  static var subcommands: [(name: String, type: any ParsableCommand.Type, settings: [CLISetting])] {
    LavaRunner.configuration.subcommands.map { type in
      (
        type.configuration.commandName ?? "\(type)", type,
        (type as? any DeclaresSettings.Type)?.settings ?? []
      )
    }
  }

  /// The subcommand's help on one line per entry, whitespace runs collapsed.
  static func help(_ type: any ParsableCommand.Type) -> String {
    LavaRunner.helpMessage(for: type, columns: 10_000).split(whereSeparator: \.isWhitespace)
      .joined(separator: " ")
  }

  @Test func everyOptionsHelpNamesItsVariablesAndDefaultAsTheResolverUsesThem() {
    for (name, type, settings) in Self.subcommands {
      let help = Self.help(type)
      for setting in settings {
        let expectedName = setting.isArgument ? "<\(setting.name)>" : "--\(setting.name)"
        #expect(help.contains(expectedName), "\(name) --help does not list \(expectedName)")
        for variable in setting.environment {
          #expect(help.contains(variable), "\(name) --help does not name \(variable) for \(expectedName)")
        }
        if let text = setting.defaultValue.description {
          #expect(
            help.contains("default \(text)"), "\(name) --help does not give the default of \(expectedName)")
        }
        #expect(help.contains(setting.help.abstract), "\(name): \(expectedName) has a help of its own")
      }
      // Every "(env: …" in the help comes from a declared setting, none is written by hand.
      let mentions = help.components(separatedBy: "(env: ").count - 1
      #expect(
        mentions == settings.filter { !$0.environment.isEmpty }.count,
        "\(name) --help names environment variables that no CLISetting declares")
    }
  }

  @Test func theOptionWinsThenEachVariableInOrderThenTheDefault() throws {
    let all = Self.subcommands.flatMap(\.settings)
    #expect(!all.isEmpty)
    for setting in all where setting.flag == nil {
      let none = SettingsEnvironment([:])
      #expect(setting.resolve(nil, in: none) == setting.defaultValue.value(in: none), "\(setting.name)")
      #expect(setting.resolve("given", in: none) == "given")
      var values: [String: String] = [:]
      for (index, variable) in setting.environment.enumerated().reversed() {
        values[variable] = "from-\(index)"
        let environment = SettingsEnvironment(values)
        #expect(setting.resolve(nil, in: environment) == "from-\(index)", "\(setting.name) from \(variable)")
        #expect(setting.resolve("given", in: environment) == "given")
      }
      // An empty variable counts as unset.
      let empty = SettingsEnvironment(Dictionary(uniqueKeysWithValues: setting.environment.map { ($0, "") }))
      #expect(setting.resolve(nil, in: empty) == setting.defaultValue.value(in: none), "\(setting.name)")
    }
  }

  @Test func flagsReadTheirVariableAndFallBackToTheirDeclaredDefault() throws {
    let flags = Self.subcommands.flatMap(\.settings).filter { $0.flag != nil }
    #expect(flags.count >= 4)
    for flag in flags {
      let variable = try #require(flag.environment.first)
      let declared = try #require(flag.defaultValue.value(in: SettingsEnvironment([:])))
      #expect(
        try flag.resolveFlag(nil, in: SettingsEnvironment([:])) == SettingsEnvironment.parseBool(declared))
      #expect(try flag.resolveFlag(nil, in: SettingsEnvironment([variable: "yes"])) == true)
      #expect(try flag.resolveFlag(nil, in: SettingsEnvironment([variable: "0"])) == false)
      #expect(try flag.resolveFlag(false, in: SettingsEnvironment([variable: "true"])) == false)
      #expect(throws: SettingsError.self) {
        try flag.resolveFlag(nil, in: SettingsEnvironment([variable: "maybe"]))
      }
    }
  }

  @Test func runWithoutOptionsOrVariablesTakesTheDefaultsItsHelpShows() throws {
    let gitlab = try GitLabOptions.parse(["https://gitlab.example.com", "glrt-defaults-token-0123456789"])
    let settings = try RunSettings(gitlab: gitlab, options: RunOptions.parse([]), environment: [:])
    let help = Self.help(RunSubcommand.self)
    #expect(help.contains("default \(settings.concurrent)"))
    #expect(help.contains("default \(settings.lavaMaxConcurrentRequests)"))
    #expect(help.contains("default \(settings.logLevel)"))
    #expect(help.contains("default \(settings.shutdownTimeout.components.seconds)"))
    #expect(help.contains("default \(settings.checkInterval.components.seconds)"))
    #expect(settings.name == ProcessInfo.processInfo.hostName)
    #expect(settings.workDirectory.path == FileManager.default.temporaryDirectory.path)
    #expect(settings.listenAddress == nil)
    #expect(help.contains("RUNNER_LISTEN_ADDRESS; default off"))
  }

  @Test func runReadsEveryVariableItsHelpNames() throws {
    let environment = [
      "GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "glrt-from-the-environment-0123",
      "RUNNER_CONCURRENT": "7", "RUNNER_CHECK_INTERVAL": "5", "RUNNER_NAME": "board-farm",
      "RUNNER_WORK_DIR": "/", "RUNNER_LOG_LEVEL": "debug", "RUNNER_LOG_FORMAT": "json",
      "RUNNER_LAVA_MAX_CONCURRENT_REQUESTS": "9", "RUNNER_LISTEN_ADDRESS": ":9252",
      "RUNNER_SHUTDOWN_TIMEOUT": "12", "RUNNER_TLS_INSECURE_SKIP_VERIFY": "true",
    ]
    let settings = try RunSettings(
      gitlab: GitLabOptions.parse([]), options: RunOptions.parse([]), environment: environment)
    #expect(settings.connection.url.absoluteString == "https://gitlab.example.com")
    #expect(settings.connection.token == "glrt-from-the-environment-0123")
    #expect(settings.concurrent == 7)
    #expect(settings.checkInterval == .seconds(5))
    #expect(settings.name == "board-farm")
    #expect(settings.workDirectory.path == "/")
    #expect(settings.logLevel == .debug)
    #expect(settings.logFormat == .json)
    #expect(settings.lavaMaxConcurrentRequests == 9)
    #expect(settings.listenAddress != nil)
    #expect(settings.shutdownTimeout == .seconds(12))
    #expect(settings.httpConfiguration.tls.insecureSkipVerify)
    // Every variable of the table above is one the help names.
    let help = Self.help(RunSubcommand.self)
    for variable in environment.keys { #expect(help.contains(variable), "\(variable)") }
  }

  @Test func execTakesTheSharedTLSOptions() throws {
    let help = Self.help(ExecSubcommand.self)
    for setting in TLSOptions.settings {
      #expect(help.contains("--\(setting.name)"))
    }
    let exec = try ExecSubcommand.parse(["--tls-insecure-skip-verify", "submit", "job.yaml"])
    #expect(try exec.tls.httpConfiguration(environment: [:]).tls.insecureSkipVerify)
    #expect(exec.words == ["submit", "job.yaml"])
  }

  @Test func theReadmesTableOfRunNamesEveryOptionAndVariableOfRun() throws {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    for setting in RunSubcommand.settings {
      let name = setting.isArgument ? setting.name.uppercased() : "--" + setting.name
      #expect(text.contains("`\(name)`"), "README.md does not list \(name)")
      for variable in setting.environment {
        #expect(text.contains("`\(variable)"), "README.md does not name \(variable) for \(name)")
      }
    }
  }

  @Test func anUnusableValueFromTheEnvironmentNamesItsVariable() throws {
    let gitlab = try GitLabOptions.parse(["https://gitlab.example.com", "glrt-defaults-token-0123456789"])
    #expect(
      throws: SettingsError.invalid(
        "concurrent", "lots", expected: "a whole number from 1 to 10000 (from RUNNER_CONCURRENT)")
    ) {
      try RunSettings(
        gitlab: gitlab, options: RunOptions.parse([]), environment: ["RUNNER_CONCURRENT": "lots"])
    }
    #expect(throws: SettingsError.invalid("concurrent", "0", expected: "a whole number from 1 to 10000")) {
      try RunSettings(gitlab: gitlab, options: RunOptions.parse(["--concurrent", "0"]), environment: [:])
    }
  }
}
