import ArgumentParser

@main
struct LavaRunner: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lava-runner",
    abstract: "A GitLab CI runner that runs LAVA jobs.",
    version: RunnerVersion.current,
    subcommands: [RunCommand.self, CommandsCommand.self, ValidateCommand.self],
    defaultSubcommand: RunCommand.self
  )
}

enum RunnerVersion {
  static let current = "0.1.0"
}
