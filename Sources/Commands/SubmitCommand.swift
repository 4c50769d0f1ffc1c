import ArgumentParser
import Protocols

/// `submit FILE`: submits a LAVA job definition found in the dependencies' artifacts and
/// follows the LAVA job until it finishes.
public struct SubmitCommand: Command {
  public static let metadata = CommandMetadata(
    name: "submit",
    summary: "Submit a LAVA job definition and follow the LAVA job until it ends.",
    discussion: """
      FILE is looked up in the artifacts of the job's dependencies. Its text is templated \
      with the job's CI/CD variables ({{ job.NAME }}), checked with libyaml and LAVA's \
      structure rules, and submitted to the LAVA server named by LAVA_URL with LAVA_TOKEN. \
      The LAVA log is streamed into the job log; the job fails when the LAVA job does.
      """,
    examples: [
      CommandExample("submit lava-job.yaml", "Submit lava-job.yaml from a dependency's artifacts."),
      CommandExample("submit 'boards/rock 5b.yaml'", "A path with a space, quoted."),
    ]
  )

  @Argument(help: "Path of the LAVA job definition inside the dependencies' artifacts.")
  public var file: String

  public init() {}

  public func run(in context: any JobContext) async throws {
    throw CommandFailure(
      .runnerSystemFailure,
      "submit: no job context is available: this build of lava-runner parses 'submit \(file)' but "
        + "cannot yet take GitLab jobs or talk to LAVA"
    )
  }
}
