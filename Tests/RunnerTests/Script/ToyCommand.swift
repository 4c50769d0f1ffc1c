import ArgumentParser
import Foundation
import Protocols

/// The command CONTRIBUTING.md's walkthrough adds, written as it says: one file, one type
/// conforming to `Command`. `AddingACommandTests` registers it with one line.
struct ToyCountCommand: Command {
  static let metadata = CommandMetadata(
    name: "toy-count",
    aliases: ["toy-wc"],
    summary: "Count the lines of a file from the dependencies' artifacts.",
    discussion: "FILE is looked up in the artifacts of the job's dependencies; its line count is logged.",
    variables: [
      CommandVariable(
        "TOY_MINIMUM_LINES", default: "`1`", "fail the job when FILE has fewer lines than this")
    ],
    examples: [
      CommandExample(
        "toy-count notes.txt", "Log how many lines notes.txt has.", files: ["notes.txt": "a\nb\n"]),
      CommandExample(
        "toy-wc 'my notes.txt'", "The same by its alias, for a quoted path.", files: ["my notes.txt": "c\n"]),
    ]
  )

  @Argument(help: "Path of the file inside the dependencies' artifacts.")
  var file: String

  func run(in context: any JobContext) async throws {
    let text = try String(contentsOf: try await context.dependencyFile(at: file), encoding: .utf8)
    let count = text.split(separator: "\n").count
    let minimum = context.variables["TOY_MINIMUM_LINES"].flatMap { Int($0) } ?? 1
    await context.log.line("\(file): \(count) lines")
    if count < minimum {
      throw CommandFailure(.scriptFailure, "toy-count: \(file) has \(count) lines, fewer than \(minimum)")
    }
  }
}
