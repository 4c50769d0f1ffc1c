import Commands
import JobEngine

extension CommandRegistry {
  /// The registry of the commands lava-runner ships.
  package static func builtIn() -> CommandRegistry {
    do {
      return try CommandRegistry(builtInCommands)
    } catch {
      // The list is fixed at build time and a test checks it: this is a programming error.
      fatalError("the built-in command list is inconsistent: \(error)")
    }
  }
}
