import ArgumentParser
import JobEngine
import Protocols
import RunnerCore

/// `lava-runner commands`: what script lines this runner understands, from the commands' own
/// metadata.
struct CommandsSubcommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "commands",
    abstract: "List the script commands this runner understands, or show one in full.",
    discussion: """
      Job scripts run by lava-runner are not shell scripts: each line is one of these \
      commands, with shell-like quoting.
      """
  )

  @Flag(name: .shortAndLong, help: "List every command with its one-line summary (the default).")
  var list = false

  @Argument(help: "A command name or alias: print its usage, options and examples.")
  var name: String?

  func run() throws {
    let registry = CommandRegistry.builtIn()
    if let name, !list {
      let type: any Command.Type
      do {
        type = try registry.resolve(name)
      } catch {
        throw CLIError(error)
      }
      print(Self.details(of: type))
    } else {
      print(Self.listing(registry.commands), terminator: "")
    }
  }

  static func listing(_ commands: [any Command.Type]) -> String {
    let rows = commands.map { type -> (String, String) in
      let metadata = type.metadata
      var title = metadata.name
      if !metadata.aliases.isEmpty {
        title += " (alias: " + metadata.aliases.joined(separator: ", ") + ")"
      }
      return (title, metadata.summary)
    }
    let width = rows.map(\.0.count).max() ?? 0
    return rows.map { title, summary in
      title + String(repeating: " ", count: width - title.count) + "  " + summary + "\n"
    }.joined()
  }

  static func details(of type: any Command.Type) -> String {
    let metadata = type.metadata
    var text = type.helpMessage(columns: 100)
    if !metadata.aliases.isEmpty {
      text += "\nALIASES: " + metadata.aliases.joined(separator: ", ") + "\n"
    }
    if !metadata.examples.isEmpty {
      text += "\nEXAMPLES:\n"
      for example in metadata.examples {
        text += "  \(example.line)\n      \(example.explanation)\n"
      }
    }
    return text
  }
}
