import Foundation
import Protocols

/// The runner's LAVA side, shared by every job of the process. (Being built: the REST client
/// lands next; until then commands that need a server are told so.)
final class LAVAConnections: LAVAConnector {
  init() {}

  func server(url: URL, token: String) throws -> any LAVAServer {
    throw CommandFailure(.runnerSystemFailure, "this build of lava-runner has no LAVA client yet")
  }

  func problems(inDefinition text: String, name: String) -> [String] { [] }
}
