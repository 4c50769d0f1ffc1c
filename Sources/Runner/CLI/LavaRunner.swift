import ArgumentParser
import RunnerCore

@main
struct LavaRunner: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lava-runner",
    abstract: "A GitLab CI runner that runs LAVA jobs.",
    version: RunnerVersion.current,
    subcommands: [
      RunSubcommand.self, CommandsSubcommand.self, ValidateSubcommand.self, RegisterSubcommand.self,
      VerifySubcommand.self,
      UnregisterSubcommand.self, ExecSubcommand.self, BenchmarkSubcommand.self,
    ],
    defaultSubcommand: RunSubcommand.self
  )
}

/// A user-facing error of a CLI subcommand: printed as `Error: <message>`, exit status 1,
/// without the usage text ArgumentParser adds to validation errors.
struct CLIError: Error, CustomStringConvertible {
  let description: String

  init(_ error: some CustomStringConvertible) {
    self.description = error.description
  }
}
