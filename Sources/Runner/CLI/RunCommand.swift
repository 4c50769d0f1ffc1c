import ArgumentParser

struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Take jobs from GitLab and run them.")
  func run() async throws {}
}
