import ArgumentParser
import Foundation
import Protocols
import RunnerCore

/// The commands a runner knows, by name and alias. Built once from a list of command types and
/// passed down; it never changes afterwards.
package struct CommandRegistry: Sendable {
  /// Registered types, sorted by name.
  package let commands: [any Command.Type]
  private let byWord: [String: any Command.Type]

  package init(_ types: [any Command.Type]) throws(CommandRegistryError) {
    var byWord: [String: any Command.Type] = [:]
    for type in types {
      let metadata = type.metadata
      guard Self.isValidWord(metadata.name) else {
        throw .invalidName(metadata.name, type: String(describing: type))
      }
      for word in [metadata.name] + metadata.aliases {
        guard Self.isValidWord(word) else { throw .invalidName(word, type: String(describing: type)) }
        if let existing = byWord[word] {
          throw .duplicate(word, first: String(describing: existing), second: String(describing: type))
        }
        byWord[word] = type
      }
    }
    self.byWord = byWord
    self.commands = types.sorted { $0.metadata.name < $1.metadata.name }
  }

  /// The command a script word names.
  package func resolve(_ word: String) throws(ScriptLineError) -> any Command.Type {
    if let type = byWord[word] { return type }
    throw .unknownCommand(word, suggestions: suggestions(for: word))
  }

  /// Tokenizes nothing: takes the words of a line and returns the parsed command.
  package func parse(_ words: [String]) throws(ScriptLineError) -> any Command {
    guard let first = words.first else { throw .emptyLine }
    let type = try resolve(first)
    do {
      return try type.parse(Array(words.dropFirst()))
    } catch {
      if type.exitCode(for: error) == .success {
        throw .helpRequested(command: type.metadata.name, help: type.helpMessage(columns: 100))
      }
      // swift-argument-parser reports a missing argument before an unknown option, so
      // `submit --version` would read as "missing <file>": the option is the mistake to name.
      if let unknown = Self.firstUnknownOption(in: words.dropFirst(), of: type) {
        throw .badArguments(
          command: type.metadata.name, message: "Unknown option '\(unknown)'", usage: type.usageString())
      }
      throw .badArguments(
        command: type.metadata.name,
        message: type.message(for: error),
        usage: type.usageString()
      )
    }
  }

  /// The first word before `--` that looks like an option (`-x`, `--name`, `--name=value`) and
  /// that `type` does not declare.
  static func firstUnknownOption(in words: ArraySlice<String>, of type: any Command.Type) -> String? {
    let known = optionNames(of: type)
    for word in words {
      if word == "--" { return nil }
      guard word.hasPrefix("-"), word.dropFirst().first.map({ $0.isLetter || $0 == "-" }) == true,
        word != "--"
      else { continue }
      let name = String(word.prefix { $0 != "=" })
      if !known.contains(name) { return name }
    }
    return nil
  }

  /// Every option and flag name of `type`, with its dashes, help included.
  static func optionNames(of type: any Command.Type) -> Set<String> {
    struct Dump: Decodable {
      struct Name: Decodable {
        var kind: String
        var name: String
      }
      struct Argument: Decodable { var names: [Name]? }
      struct Command: Decodable { var arguments: [Argument]? }
      var command: Command
    }
    var names: Set<String> = ["-h", "--help", "-help"]
    // `_dumpHelp()` is swift-argument-parser's `--experimental-dump-help` JSON: the only public
    // way to list a type's option names.
    guard let dump = try? JSONDecoder().decode(Dump.self, from: Data(type._dumpHelp().utf8)) else {
      return names
    }
    for name in (dump.command.arguments ?? []).flatMap({ $0.names ?? [] }) {
      switch name.kind {
      case "long": names.insert("--" + name.name)
      default: names.insert("-" + name.name)
      }
    }
    return names
  }

  /// Known words closest to `word`, best first: a typo's likely intent.
  package func suggestions(for word: String) -> [String] {
    let limit = max(2, word.count / 3)
    return byWord.keys
      .map { ($0, EditDistance.between(word, $0)) }
      .filter { $0.1 <= limit }
      .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
      .prefix(3)
      .map(\.0)
  }

  private static func isValidWord(_ word: String) -> Bool {
    !word.isEmpty
      && word.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }
  }
}

package enum CommandRegistryError: Error, Equatable, CustomStringConvertible {
  case duplicate(String, first: String, second: String)
  case invalidName(String, type: String)

  package var description: String {
    switch self {
    case .duplicate(let word, let first, let second):
      "the command word '\(word)' is claimed by both \(first) and \(second); each name and alias must be unique"
    case .invalidName(let word, let type):
      "\(type) declares the command word '\(word)'; words are lowercase letters, digits, '-' and '_'"
    }
  }
}

/// Why a script line could not be turned into a command.
package enum ScriptLineError: Error, Equatable, CustomStringConvertible {
  case emptyLine
  case syntax(ScriptSyntaxError)
  case unknownCommand(String, suggestions: [String])
  case badArguments(command: String, message: String, usage: String)
  /// `NAME --help` in a script: not a failure, the help is the output.
  case helpRequested(command: String, help: String)

  package var description: String {
    switch self {
    case .emptyLine:
      return "the line has no command"
    case .syntax(let error):
      return error.description
    case .unknownCommand(let word, let suggestions):
      var text = "unknown command '\(word)'"
      if let best = suggestions.first {
        text += "; did you mean '\(best)'?"
      } else {
        text += "; run 'lava-runner commands --list' to see the commands this runner knows"
      }
      return text
    case .badArguments(let command, let message, let usage):
      return "\(command): \(message)\nUsage: \(usage)\n(see 'lava-runner commands \(command)' for details)"
    case .helpRequested(_, let help):
      return help
    }
  }
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours each cost one, so 'sumbit' is one step from 'submit'.
package enum EditDistance {
  package static func between(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
        }
      }
    }
    return table[a.count][b.count]
  }
}
