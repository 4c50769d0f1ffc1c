import Foundation
import TestSupport
import Testing

/// The layering of ARCHITECTURE.md, held by a test: the target graph it draws is the one
/// Package.swift declares, every edge goes down a layer, and no source file imports a target
/// its own target does not depend on.
@Suite struct ArchitectureTests {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The project's own modules (the C ones included): imports of anything else are not judged.
  static let projectTargets: Set<String> = [
    "CCurl", "CYAML", "CZlibShim", "Protocols", "Commands", "RunnerCore", "HTTP", "YAML", "GitLabAPI",
    "LAVA", "JobEngine", "Runner", "Fuzz",
  ]

  struct Graph: Equatable, CustomStringConvertible {
    var layers: [String: Int] = [:]
    var edges: [String: Set<String>] = [:]

    var description: String {
      edges.keys.sorted().map { "\($0) → \(edges[$0, default: []].sorted().joined(separator: ", "))" }
        .joined(separator: "\n")
    }
  }

  /// ARCHITECTURE.md's graph block: `N. Target → Dep, Dep` lines between the
  /// `<!-- target-graph -->` markers, N the layer (0 at the bottom).
  static func documentedGraph(_ text: String) throws -> Graph {
    let parts = text.components(separatedBy: "<!-- target-graph -->")
    try #require(
      parts.count == 3, "ARCHITECTURE.md needs its graph between two <!-- target-graph --> markers")
    var graph = Graph()
    for line in parts[1].split(separator: "\n") {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard let dot = trimmed.firstIndex(of: "."), let layer = Int(trimmed[..<dot]) else { continue }
      let rest = trimmed[trimmed.index(after: dot)...]
      let sides = rest.components(separatedBy: "→")
      let target = sides[0].trimmingCharacters(in: .whitespaces)
      let deps =
        sides.count > 1
        ? sides[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "—" }
        : []
      graph.layers[target] = layer
      graph.edges[target] = Set(deps)
    }
    return graph
  }

  /// The project-target edges Package.swift declares, through `swift package dump-package`.
  static func declaredEdges() async throws -> [String: Set<String>] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // A scratch path of its own: the one of the running `swift test` is locked by it.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dump-package-\(UUID())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    process.arguments = [
      "swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package",
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    // `swift package` takes seconds on a loaded machine: wait for it off the cooperative pool.
    let data = try await offPool {
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      return data
    }
    try #require(process.terminationStatus == 0, "swift package dump-package failed")
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let targets = try #require(json["targets"] as? [[String: Any]])
    var edges: [String: Set<String>] = [:]
    for target in targets {
      guard let name = target["name"] as? String, projectTargets.contains(name) else { continue }
      var deps = Set<String>()
      for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
        for value in dependency.values {
          if let names = value as? [Any], let first = names.first as? String, projectTargets.contains(first) {
            deps.insert(first)
          }
        }
      }
      edges[name] = deps
    }
    return edges
  }

  static func architectureText() throws -> String {
    try String(contentsOf: root.appendingPathComponent("ARCHITECTURE.md"), encoding: .utf8)
  }

  @Test func theGraphInArchitectureMdIsTheOnePackageSwiftDeclares() async throws {
    let documented = try Self.documentedGraph(Self.architectureText())
    let declared = try await Self.declaredEdges()
    #expect(
      documented.edges == declared,
      "ARCHITECTURE.md:\n\(documented)\n\nPackage.swift:\n\(Graph(edges: declared))")
  }

  @Test func everyDependencyGoesDownALayer() throws {
    let graph = try Self.documentedGraph(Self.architectureText())
    #expect(Set(graph.layers.keys) == Self.projectTargets, "every project target has a layer")
    for (target, deps) in graph.edges {
      for dep in deps {
        let from = graph.layers[target] ?? -1
        let to = graph.layers[dep] ?? Int.max
        #expect(to < from, "\(target) (layer \(from)) depends on \(dep) (layer \(to)): upward or sideways")
      }
    }
  }

  @Test func commandsSeeOnlyTheProtocols() throws {
    let graph = try Self.documentedGraph(Self.architectureText())
    #expect(graph.edges["Commands"] == ["Protocols"])
  }

  /// SwiftPM lets a file import a module its target does not declare when the module happens to
  /// be built already; this catches it (as `--explicit-target-dependency-import-check` does).
  @Test func noSourceFileImportsATargetItsTargetDoesNotDependOn() async throws {
    let declared = try await Self.declaredEdges()
    let sources = Self.root.appendingPathComponent("Sources")
    var problems: [String] = []
    for target in declared.keys.sorted() {
      let folder = sources.appendingPathComponent(target)
      guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
        continue
      }
      for case let file as URL in files where file.pathExtension == "swift" {
        let text = try String(contentsOf: file, encoding: .utf8)
        for imported in Self.imports(in: text) where Self.projectTargets.contains(imported) {
          if imported != target && !(declared[target] ?? []).contains(imported) {
            problems.append("\(target)/\(file.lastPathComponent) imports \(imported)")
          }
        }
      }
    }
    #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
  }

  @Test func theImportScannerSeesPlainTestableAndAttributedImports() {
    let text = "import Foundation\n@testable import HTTP\n@preconcurrency import LAVA\n// import YAML\n"
    #expect(Self.imports(in: text) == ["Foundation", "HTTP", "LAVA"])
  }

  static func imports(in text: String) -> [String] {
    text.split(separator: "\n").compactMap { line in
      let words = line.split(separator: " ").map(String.init)
      guard let index = words.firstIndex(of: "import"), words[..<index].allSatisfy({ $0.hasPrefix("@") }),
        index + 1 < words.count
      else { return nil }
      return words[index + 1]
    }
  }
}
