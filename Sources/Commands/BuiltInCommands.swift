import Protocols

/// Every command lava-runner ships, sorted by name. Adding a command: one new type in this
/// folder and one line here.
public let builtInCommands: [any Command.Type] = [
  MonitorFileCommand.self,
  SubmitCommand.self,
]
