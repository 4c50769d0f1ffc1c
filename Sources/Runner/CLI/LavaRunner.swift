import ArgumentParser
import RunnerCore

@main
struct LavaRunner: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lava-runner",
    abstract: "A GitLab CI runner that runs LAVA jobs.",
    version: RunnerVersion.current,
    subcommands: [
      RunCommand.self, CommandsCommand.self, ValidateCommand.self, RegisterCommand.self, VerifyCommand.self,
      UnregisterCommand.self, ExecCommand.self, BenchmarkCommand.self,
    ],
    defaultSubcommand: RunCommand.self
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
