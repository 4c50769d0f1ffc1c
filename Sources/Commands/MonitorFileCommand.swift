import ArgumentParser
import Protocols

/// `monitor-file FILE`: waits for LAVA jobs submitted elsewhere, listed in a JSON file found in
/// the dependencies' artifacts.
public struct MonitorFileCommand: Command {
  public static let metadata = CommandMetadata(
    name: "monitor-file",
    aliases: ["monitor-files"],
    summary: "Wait for the LAVA jobs listed in a JSON file and report how they ended.",
    discussion: """
      FILE is looked up in the artifacts of the job's dependencies and holds \
      {"jobids": [1, 2, 3]}. Each job's URL and state changes are written to the job log; \
      the job fails unless every LAVA job completes without a failed test.
      """,
    examples: [
      CommandExample("monitor-file jobs.json", "Wait for the LAVA jobs listed in jobs.json."),
      CommandExample("monitor-files jobs.json", "The same, by the alias older pipelines use."),
    ]
  )

  @Argument(help: "Path of the JSON file ({\"jobids\": [...]}) inside the dependencies' artifacts.")
  public var file: String

  public init() {}

  public func run(in context: any JobContext) async throws {
    throw CommandFailure(
      .runnerSystemFailure,
      "monitor-file: no job context is available: this build of lava-runner parses 'monitor-file \(file)' but "
        + "cannot yet take GitLab jobs or talk to LAVA"
    )
  }
}
