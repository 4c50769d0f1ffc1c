import ArgumentParser
import Foundation
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

  @Flag(
    help: """
      Print the README's command and variable tables, in Markdown, from the commands' metadata \
      (scripts/update-readme puts them into README.md).
      """)
  var markdown = false

  @Argument(help: "A command name or alias: print its usage, options and examples.")
  var name: String?

  func run() throws {
    let registry = CommandRegistry.builtIn()
    if markdown {
      print(Self.markdown(registry.commands), terminator: "")
    } else if let name, !list {
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

  /// The README's tables: every command with its usage and summary, then every job variable
  /// with its default, meaning and the commands that read it (one row where they agree).
  static func markdown(_ commands: [any Command.Type]) -> String {
    var text = "| command | what it does |\n|---|---|\n"
    for type in commands {
      let metadata = type.metadata
      var title = "`" + type.usageString() + "`"
      if !metadata.aliases.isEmpty {
        title += " (alias " + metadata.aliases.map { "`\($0)`" }.joined(separator: ", ") + ")"
      }
      text += "| \(cell(title)) | \(cell(metadata.summary)) |\n"
    }
    var rows: [(variable: CommandVariable, readers: [String])] = []
    for type in commands {
      for variable in type.metadata.variables {
        if let index = rows.firstIndex(where: { $0.variable == variable }) {
          rows[index].readers.append(type.metadata.name)
        } else {
          rows.append((variable, [type.metadata.name]))
        }
      }
    }
    guard !rows.isEmpty else { return text }
    // A variable's rows together, in the order variables first appear.
    let names = rows.map(\.variable.name)
    rows = rows.enumerated().sorted {
      (names.firstIndex(of: $0.element.variable.name)!, $0.offset)
        < (names.firstIndex(of: $1.element.variable.name)!, $1.offset)
    }.map(\.element)
    text += "\nJob variables they read:\n\n| variable | read by | default | meaning |\n|---|---|---|---|\n"
    for (variable, readers) in rows {
      let columns = [
        "`\(variable.name)`", readers.map { "`\($0)`" }.joined(separator: ", "),
        variable.defaultValue ?? "required", variable.meaning,
      ]
      text += "| " + columns.map(cell).joined(separator: " | ") + " |\n"
    }
    return text
  }

  /// Text that stays in one Markdown table cell.
  private static func cell(_ text: String) -> String {
    text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
  }
}
