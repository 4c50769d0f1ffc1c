import ArgumentParser

struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate", abstract: "Check LAVA job definitions offline.")
  func run() async throws {}
}
