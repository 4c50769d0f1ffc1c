import ArgumentParser
import Foundation
import HTTP
import JobEngine
import LAVA
import Protocols
import RunnerCore
import UnixSignals

/// `lava-runner exec COMMAND ...`: one script line run locally, as a GitLab job would run it,
/// for people writing LAVA definitions.
struct ExecSubcommand: AsyncParsableCommand, DeclaresSettings {
  static let configuration = CommandConfiguration(
    commandName: "exec",
    abstract: "Run one script command locally, without GitLab, as a job would run it.",
    discussion: """
      Runs COMMAND (a script command such as submit or monitor-file, see 'lava-runner \
      commands') with the job log on standard output, e.g.

        LAVA_URL=URL LAVA_TOKEN=TOKEN lava-runner exec submit job.yaml

      Variables: the environment is the job's CI/CD variables (LAVA_URL, LAVA_TOKEN, \
      LAVA_CANCELLATION, and the NAME of every {{ job.NAME }} placeholder), plus each --var. \
      Masked, so that the log never shows their values: LAVA_TOKEN, every variable whose name \
      contains TOKEN, PASSWORD or SECRET (any case), and every KEY given with --mask.

      Files the command would take from the job's dependencies are read relative to the \
      current directory (absolute paths and paths that climb out of it are refused). Artifacts \
      the command offers (e.g. <id>_log.yaml, <id>_junit.xml) are copied to --artifacts-dir and \
      listed at the end.

      Ctrl-C cancels the command as cancelling the GitLab job would (submit cancels its LAVA \
      jobs unless LAVA_CANCELLATION=ignore) and gives it \
      \(JobExecutor.format(JobExecutor.defaultCancellationGracePeriod)) to stop; a second Ctrl-C \
      exits at once.

      Exit status: 0 when the GitLab job would succeed; otherwise the failure's exit code (1 \
      unless the command says otherwise) after a last line 'ERROR: Job failed (REASON): \
      MESSAGE'; 130 after Ctrl-C; 2 for a bad command line (unknown command, bad arguments).
      """
  )

  @Option(help: ArgumentHelp("Folder for the artifacts the command offers.", valueName: "dir"))
  var artifactsDir = "lava-artifacts"

  @Option(
    name: .customLong("var"),
    help: ArgumentHelp("An extra job variable; wins over the environment.", valueName: "key=value"))
  var variables: [String] = []

  @Option(
    name: .customLong("mask"), help: ArgumentHelp("Treat the variable KEY as masked.", valueName: "key"))
  var maskedKeys: [String] = []

  @Flag(
    name: .long,
    help: ArgumentHelp(
      "Never colour the output (it is coloured only on a terminal anyway). Other control "
        + "characters from LAVA logs are always shown (␇, ␛), never sent to the terminal."))
  var noColor = false

  static let settings = TLSOptions.settings

  @OptionGroup var tls: TLSOptions

  @Argument(
    parsing: .captureForPassthrough,
    help: ArgumentHelp("The script command and its arguments, e.g. submit job.yaml.", valueName: "command"))
  var words: [String] = []

  func run() async throws {
    // Passthrough capture takes exec's own --help, and any misspelt option, as command words.
    if let first = words.first, first.hasPrefix("-") {
      if first == "--help" || first == "-h" {
        print(LavaRunner.helpMessage(for: Self.self))
        return
      }
      Self.printError("unknown option '\(first)' for exec; see 'lava-runner exec --help'")
      throw ExitCode(2)
    }
    let httpConfiguration: HTTPClientConfiguration
    do {
      httpConfiguration = try tls.httpConfiguration(environment: ProcessInfo.processInfo.environment)
    } catch {
      Self.printError(error.description)
      throw ExitCode(2)
    }
    let variables: JobVariables
    do {
      variables = try Self.jobVariables(
        environment: ProcessInfo.processInfo.environment, extra: self.variables, masked: maskedKeys)
    } catch {
      Self.printError(error.description)
      throw ExitCode(2)
    }
    let registry = CommandRegistry.builtIn()
    do {
      // Parsed here only to refuse a bad command line with status 2; the executor parses it again.
      _ = try registry.parse(words)
    } catch .helpRequested(_, let help) {
      print(help)
      return
    } catch .emptyLine {
      Self.printError("give the script command to run, e.g. 'lava-runner exec submit job.yaml'")
      throw ExitCode(2)
    } catch {
      Self.printError(error.description)
      throw ExitCode(2)
    }

    let colours =
      !noColor && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    let log = TerminalLog.standardOutput(secrets: variables.secretValues, colours: colours)
    let status = await Self.execute(
      Self.scriptLine(words), registry: registry, variables: variables, log: log,
      artifactsDirectory: URL(fileURLWithPath: artifactsDir), httpConfiguration: httpConfiguration)
    log.finish()
    if status != 0 { throw ExitCode(Int32(truncatingIfNeeded: status)) }
  }

  /// Runs `line` as a one-line job with a local context; returns the exit status.
  static func execute(
    _ line: String, registry: CommandRegistry, variables: JobVariables, log: TerminalLog,
    artifactsDirectory: URL, httpConfiguration: HTTPClientConfiguration
  ) async -> Int {
    let http: HTTPClient
    do {
      http = try HTTPClient(configuration: httpConfiguration)
    } catch {
      await JobVerdict(
        outcome: .failed(.runnerSystemFailure), summary: "cannot start the HTTP client: \(error)"
      ).write(to: log)
      return 1
    }
    defer { http.requestShutdown() }
    let jobFolder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "lava-runner-exec-\(UUID())")
    defer { try? FileManager.default.removeItem(at: jobFolder) }
    do {
      try FileManager.default.createDirectory(at: jobFolder, withIntermediateDirectories: true)
    } catch {
      await JobVerdict(
        outcome: .failed(.runnerSystemFailure), summary: "cannot create \(jobFolder.path): \(error)"
      ).write(to: log)
      return 1
    }
    let context = LocalJobContext(
      log: log, variables: variables,
      sourceDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
      workingDirectory: jobFolder, lava: LAVAConnections(http: http, metrics: RunnerMetrics()),
      control: JobControl())
    return await run(
      line, executor: executor(registry), context: context, artifactsDirectory: artifactsDirectory)
  }

  /// The executor of GitLab jobs, with exec's words for a cancel.
  static func executor(_ registry: CommandRegistry) -> JobExecutor {
    JobExecutor(
      interpreter: ScriptInterpreter(registry: registry), cancellationSummary: "interrupted (Ctrl-C)")
  }

  /// Runs `line` through `executor` as a GitLab job's script, without a timeout, its artifacts
  /// copied to `artifactsDirectory`. SIGINT cancels it as cancelling the GitLab job would; a
  /// second SIGINT exits at once. Returns the exit status: the job's, or 130 after Ctrl-C.
  static func run(_ line: String, executor: JobExecutor, context: LocalJobContext, artifactsDirectory: URL)
    async -> Int
  {
    let control = context.control
    let signals = await UnixSignalsSequence(trapping: .sigint)
    let interrupts = Task {
      for await _ in signals {
        if control.cancel(.canceledImmediately) {
          await context.log.warning("Interrupted: cancelling, as if the GitLab job were cancelled")
        } else {
          FileHandle.standardError.write(Data("lava-runner: second interrupt: exiting now\n".utf8))
          Foundation.exit(130)
        }
      }
    }
    defer { interrupts.cancel() }
    let outcome = await executor.execute(
      JobScript(lines: [line]), context: context, control: control,
      artifacts: LocalArtifactFolder(offers: context.offers, directory: artifactsDirectory))
    return control.cancellation == nil ? outcome.exitCode : 130
  }

  /// The environment plus `extra` (KEY=VALUE), masked by name or by `masked`.
  static func jobVariables(environment: [String: String], extra: [String], masked: [String])
    throws(ExecUsageError)
    -> JobVariables
  {
    var values = environment
    for item in extra {
      guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
        throw .badVariable(item)
      }
      values[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    let maskedKeys = Set(masked)
    return JobVariables(
      values.keys.sorted().map { key in
        JobVariable(key: key, value: values[key]!, masked: maskedKeys.contains(key) || isSecretName(key))
      })
  }

  /// Names that always hold secrets.
  static func isSecretName(_ key: String) -> Bool {
    let upper = key.uppercased()
    return upper == "LAVA_TOKEN" || ["TOKEN", "PASSWORD", "SECRET"].contains { upper.contains($0) }
  }

  /// The line echoed in the log, quoted so that it could be pasted into a job script.
  static func scriptLine(_ words: [String]) -> String {
    words.map { word in
      let plain = !word.isEmpty && word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
      return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }.joined(separator: " ")
  }

  private static func printError(_ message: String) {
    FileHandle.standardError.write(Data("lava-runner exec: \(message)\n".utf8))
  }
}

/// A bad option of `exec` itself.
enum ExecUsageError: Error, Equatable, CustomStringConvertible {
  case badVariable(String)

  var description: String {
    switch self {
    case .badVariable(let item):
      // Only the key: the value may be a secret.
      "--var '\(item.prefix { $0 != "=" })...' is not KEY=VALUE; write it as --var NAME=value"
    }
  }
}
