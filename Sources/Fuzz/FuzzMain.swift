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
  /// Carries the target to the processes libFuzzer starts for -fork, -jobs and -merge.
  static let environmentKey = "LAVA_RUNNER_FUZZ_TARGET"

  static func main() {
    #if FUZZING
      // libFuzzer reads the arguments; LLVMFuzzerInitialize takes the target's name out.
      exit(LibFuzzer.run())
    #else
      var arguments = CommandLine.arguments
      let program = arguments.removeFirst()
      guard let name = arguments.first, let target = FuzzTarget.named(name) else {
        usage(program)
        exit(arguments.first == "list" || arguments.first == "--help" ? 0 : 2)
      }
      exit(Replay.run(target, arguments: Array(arguments.dropFirst())))
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
