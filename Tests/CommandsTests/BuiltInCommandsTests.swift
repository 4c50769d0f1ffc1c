import Commands
import Protocols
import Testing

@Test func builtInCommandsAreSortedByName() {
  let names = builtInCommands.map { $0.metadata.name }
  #expect(names == names.sorted())
}
