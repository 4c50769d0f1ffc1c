import Commands
import Foundation
import Protocols
import Testing

@Test func builtInCommandsAreSortedByName() {
  let names = builtInCommands.map { $0.metadata.name }
  #expect(names == names.sorted())
}

/// Adding a command is one type plus one line in BuiltInCommands.swift: this catches the
/// forgotten line.
@Test func everyCommandTypeInTheCommandsFolderIsRegistered() throws {
  let folder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Sources/Commands")
  let files = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil))
  let declaration = try Regex(#"(?m)^\s*(?:public\s+)?struct\s+(\w+)\s*:\s*Command\b"#)
  var declared: [String] = []
  for case let file as URL in files where file.pathExtension == "swift" {
    let source = try String(contentsOf: file, encoding: .utf8)
    for match in source.matches(of: declaration) {
      declared.append(String(source[match.output[1].range!]))
    }
  }
  #expect(!declared.isEmpty)
  let registered = builtInCommands.map { String(describing: $0) }
  #expect(declared.sorted() == registered.sorted())
}

@Test func everyCommandDocumentsASummaryAndExamples() {
  for type in builtInCommands {
    let metadata = type.metadata
    #expect(!metadata.summary.isEmpty && metadata.summary.count <= 100, "\(metadata.name)")
    #expect(!metadata.examples.isEmpty, "\(metadata.name)")
    #expect(!metadata.aliases.contains(metadata.name), "\(metadata.name)")
  }
}
