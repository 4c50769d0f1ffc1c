import Foundation

/// The real LAVA server that integration tests use, as `scripts/lava-test-server env` describes
/// it in the environment:
///
/// ```sh
/// scripts/lava-test-server start
/// set -a; eval "$(scripts/lava-test-server env)"; set +a   # the lines are not exported
/// LAVA_TEST_SERVER_REQUIRED=1 swift test --filter LAVA
/// ```
///
/// Tests that need it are enabled when the variables are there or `LAVA_TEST_SERVER_REQUIRED`
/// is set; with the variable set and the server's variables missing they fail, saying which
/// are missing, rather than pass without having run.
public struct LAVATestServer: Sendable {
  public static let requiredVariable = "LAVA_TEST_SERVER_REQUIRED"
  static let variables = [
    "LAVA_URL", "LAVA_TOKEN", "LAVA_TEST_PLAYED_WORKER", "LAVA_TEST_PLAYED_WORKER_TOKEN",
    "LAVA_TEST_PLAYED_DEVICE_TYPE",
  ]

  public var url: URL
  public var token: String
  public var playedWorkerName: String
  public var playedWorkerToken: String
  public var playedDeviceType: String
  /// `LAVA_TEST_SERVER_VERSION`, default 2023.01: what the played worker reports.
  public var version: String
  /// `LAVA_TEST_FLEET_WORKER`, `…_TOKEN`, `LAVA_TEST_FLEET_DEVICE_TYPE`: a second played worker
  /// with many devices (see ``fleet()``); nil from a server set up before it existed.
  public var fleetWorkerName: String?
  public var fleetWorkerToken: String?
  public var fleetDeviceType: String?

  /// Whether tests that need the server should run (and, if it is missing, fail).
  public static var isConfigured: Bool {
    let environment = ProcessInfo.processInfo.environment
    return isRequired(environment) || variables.allSatisfy { !(environment[$0] ?? "").isEmpty }
  }

  static func isRequired(_ environment: [String: String]) -> Bool {
    let value = environment[requiredVariable] ?? ""
    return !value.isEmpty && value != "0"
  }

  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> LAVATestServer {
    let missing = variables.filter { (environment[$0] ?? "").isEmpty }
    guard missing.isEmpty, let url = URL(string: environment["LAVA_URL"]!) else {
      throw LAVATestServerError.missing(missing.isEmpty ? ["LAVA_URL (not a URL)"] : missing)
    }
    var server = LAVATestServer(
      url: url, token: environment["LAVA_TOKEN"]!, playedWorkerName: environment["LAVA_TEST_PLAYED_WORKER"]!,
      playedWorkerToken: environment["LAVA_TEST_PLAYED_WORKER_TOKEN"]!,
      playedDeviceType: environment["LAVA_TEST_PLAYED_DEVICE_TYPE"]!,
      version: environment["LAVA_TEST_SERVER_VERSION"].flatMap { $0.isEmpty ? nil : $0 } ?? "2023.01")
    server.fleetWorkerName = environment["LAVA_TEST_FLEET_WORKER"].flatMap { $0.isEmpty ? nil : $0 }
    server.fleetWorkerToken = environment["LAVA_TEST_FLEET_WORKER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    server.fleetDeviceType = environment["LAVA_TEST_FLEET_DEVICE_TYPE"].flatMap { $0.isEmpty ? nil : $0 }
    return server
  }

  /// The played worker with many devices (LAVA runs one job per device), for tests that hold
  /// many LAVA jobs running at once, and its device type. It is not `played-worker`, so that
  /// tests which drain that one leave its jobs alone.
  public func fleet() throws -> (worker: PlayedWorker, deviceType: String) {
    guard let name = fleetWorkerName, let token = fleetWorkerToken, let deviceType = fleetDeviceType else {
      throw LAVATestServerError.noFleet
    }
    return (PlayedWorker(url: url, name: name, token: token, version: version), deviceType)
  }

  public func playedWorker() -> PlayedWorker {
    PlayedWorker(url: url, name: playedWorkerName, token: playedWorkerToken, version: version)
  }

  /// A definition LAVA accepts for the played device type (like Tests/Fixtures/lava/played.yaml);
  /// nothing in it is ever executed since the played worker only reports what the test says.
  public func playedJobDefinition(name: String) -> String {
    Self.playedJobDefinition(name: name, deviceType: playedDeviceType)
  }

  /// The same for a device type given, e.g. for a test where LAVA never sees the definition.
  public static func playedJobDefinition(name: String, deviceType: String = "played-board") -> String {
    """
    job_name: \(name)
    device_type: \(deviceType)
    visibility: public
    priority: medium
    timeouts:
      job:
        minutes: 10
      action:
        minutes: 5
    actions:
    - deploy:
        to: tmpfs
        timeout:
          minutes: 2
        images:
          kernel:
            image_arg: -kernel {kernel}
            url: file:///nonexistent/vmlinuz
    - boot:
        method: qemu
        media: tmpfs
        timeout:
          minutes: 2
        prompts:
        - '/ #'

    """
  }
}

public enum LAVATestServerError: Error, CustomStringConvertible {
  case missing([String])
  case noFleet

  public var description: String {
    switch self {
    case .missing(let names):
      "\(LAVATestServer.requiredVariable) is set but the LAVA test server is not described: "
        + "\(names.joined(separator: ", ")) missing. Start it with `scripts/lava-test-server start` "
        + "and export its variables with `set -a; eval \"$(scripts/lava-test-server env)\"; set +a`."
    case .noFleet:
      "the LAVA test server's environment has no LAVA_TEST_FLEET_WORKER, LAVA_TEST_FLEET_WORKER_TOKEN "
        + "or LAVA_TEST_FLEET_DEVICE_TYPE: run `scripts/lava-test-server start` again (it adds the fleet "
        + "to a running server) and export its variables again"
    }
  }
}
