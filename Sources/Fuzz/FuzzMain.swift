import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `Fuzz TARGET …`: one executable for every fuzz target of the project (Fuzz/README.md).
///
/// Built with `-sanitize=fuzzer -DFUZZING` (`make fuzz`), it is a libFuzzer binary and takes
/// libFuzzer's options and corpus folders. Built normally (`swift build`, `make test`), it
/// replays the corpus through the target and then mutates it for a bounded time, with no
/// instrumentation: a quick check that every seed still passes.
@main
struct FuzzMain {
  static let environmentKey = "LAVA_RUNNER_FUZZ_TARGET"

  static func main() {
    var arguments = CommandLine.arguments
    let program = arguments.removeFirst()
    // libFuzzer re-runs the binary for -fork, -jobs and -merge without the target name: the
    // environment carries it to those children.
    let name: String?
    if let first = arguments.first, FuzzTarget.named(first) != nil {
      name = first
      arguments.removeFirst()
    } else {
      name = ProcessInfo.processInfo.environment[environmentKey]
    }
    guard let name, let target = FuzzTarget.named(name) else {
      usage(program)
      exit(arguments.first == "list" || arguments.first == "--help" ? 0 : 2)
    }
    setenv(environmentKey, name, 1)
    #if FUZZING
      exit(LibFuzzer.run(target, arguments: [program] + arguments))
    #else
      exit(Replay.run(target, arguments: arguments))
    #endif
  }

  static func usage(_ program: String) {
    let targets = FuzzTarget.all.map {
      "  \($0.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \($0.summary)"
    }
    print(
      """
      usage: \(program) TARGET [libFuzzer options] [CORPUS…]     (built with make fuzz)
             \(program) TARGET [--mutate-seconds S] [--seed N] [--crash-dir DIR] CORPUS…   (plain build)
      targets:
      \(targets.joined(separator: "\n"))
      """)
  }
}
