import ArgumentParser

struct CommandsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "commands", abstract: "List the script commands.")
  func run() async throws {}
}
