import ArgumentParser
import RunnerCore

/// `lava-runner benchmark`: speed figures of the job log path, measured in-process on the real
/// code, each against a baseline timed in the same run. Hidden from `--help`: it is for
/// developers (Benchmarks/run builds release and calls it), not for running jobs.
struct BenchmarkSubcommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "benchmark",
    abstract: "Print speed figures of log masking and LAVA log parsing (for developers).",
    shouldDisplay: false
  )

  @Option(help: "Size of the generated job log, in MiB.")
  var logMebibytes = 8

  @Option(help: "Lines of the generated LAVA log body (the YAML body has a tenth as many).")
  var lavaLogLines = 20_000

  @Option(help: "Size of the generated LAVA log forwarded end to end (parse, render, mask), in MiB.")
  var lavaLogPathMebibytes = 8

  @Option(help: "Run only this case: masking, parsing or lava-log-path (repeatable).")
  var only: [String] = []

  @Option(help: "Times each case runs; the median is shown.")
  var repetitions = 5

  func validate() throws {
    guard logMebibytes > 0, lavaLogLines > 0, repetitions > 0, lavaLogPathMebibytes > 0 else {
      throw ValidationError(
        "--log-mebibytes, --lava-log-lines, --lava-log-path-mebibytes and --repetitions must be positive.")
    }
    let cases: Set<String> = ["masking", "parsing", "lava-log-path"]
    if let unknown = only.first(where: { !cases.contains($0) }) {
      throw ValidationError("--only \(unknown): the cases are masking, parsing and lava-log-path.")
    }
  }

  func run() throws {
    print(try Self.report(options: options))
  }

  var options: BenchmarkSuite.Options {
    BenchmarkSuite.Options(
      logBytes: logMebibytes << 20, lavaLogLines: lavaLogLines, repetitions: repetitions,
      lavaLogPathBytes: lavaLogPathMebibytes << 20, only: Set(only))
  }

  /// Machine, tables and peak memory, as Markdown.
  static func report(options: BenchmarkSuite.Options) throws -> String {
    let tables: [BenchmarkTable]
    do {
      tables = try BenchmarkSuite(options: options).run()
    } catch {
      throw CLIError(error)
    }
    return "## lava-runner benchmarks\n\n"
      + BenchmarkMachine.summary(repetitions: options.repetitions) + "\n\n"
      + tables.map(\.rendered).joined(separator: "\n")
      + "\nPeak resident memory of the benchmark process: "
      + formatFigure(BenchmarkMachine.peakResidentMiB()) + " MiB\n"
  }
}
