import FlyingFox
import Foundation
import Synchronization

/// The fake's event stream at `/ws/`, as lava-publisher serves it behind a LAVA install's web
/// server: one text message `[topic, uuid, datetime, username, data-as-JSON-string]` per job
/// state change, for every job, to every connected client. A change made while no client is
/// connected is not sent to anyone (as with the real publisher).
///
/// Tests can take the stream away (404, as a LAVA whose web server does not proxy it), drop
/// the connections, or send frames of their own (fragmented, oversized, malformed).
public final class FakeLAVAEvents: Sendable {
  public enum Mode: Sendable {
    case available
    /// `/ws/` answers 404 `{"detail":"Not found."}`.
    case absent
  }

  private struct State {
    var mode = Mode.available
    var clients: [UUID: AsyncStream<WSFrame>.Continuation] = [:]
    var connections = 0
    var published = 0
  }

  private let state = Mutex(State())

  public init() {}

  public var mode: Mode {
    get { state.withLock { $0.mode } }
    set { state.withLock { $0.mode = newValue } }
  }

  /// Clients connected now.
  public var connectedClients: Int { state.withLock { $0.clients.count } }
  /// Upgrades accepted so far.
  public var connections: Int { state.withLock { $0.connections } }
  /// Messages sent (each counted once, whatever the number of clients).
  public var published: Int { state.withLock { $0.published } }

  /// Closes every client's connection (without a close frame, as a crashing proxy would).
  public func dropConnections() {
    let clients = state.withLock { state in
      defer { state.clients = [:] }
      return state.clients
    }
    for client in clients.values { client.finish() }
  }

  /// Sends `frames` as they are to every client.
  public func send(_ frames: [WSFrame]) {
    let clients = state.withLock { Array($0.clients.values) }
    for client in clients {
      for frame in frames { client.yield(frame) }
    }
  }

  /// A testjob message for `job`, as lava-publisher sends it.
  public func publish(_ job: FakeLAVAJob) {
    var data: [String: Any] = [
      "job": job.id, "state": job.state, "health": job.health, "description": job.description,
      "priority": 50, "submitter": "tester", "health_check": false, "device_type": job.deviceType,
    ]
    if let device = job.device { data["device"] = device }
    let text = (try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])).map {
      String(decoding: $0, as: UTF8.self)
    }
    let message: [Any] = [
      "org.lavasoftware.testjob", UUID().uuidString.lowercased(), "2026-11-30T13:40:14.198393", "tester",
      text ?? "{}",
    ]
    guard let body = try? JSONSerialization.data(withJSONObject: message) else { return }
    state.withLock { $0.published += 1 }
    send([WSFrame(fin: true, opcode: .text, mask: nil, payload: body)])
  }

  func response(to request: HTTPRequest) async -> HTTPResponse {
    guard mode == .available else { return FakeLAVA.json(404, ["detail": "Not found."]) }
    return (try? await WebSocketHTTPHandler(handler: Client(events: self)).handleRequest(request))
      ?? FakeLAVA.json(400, ["detail": "bad upgrade"])
  }

  fileprivate func connect() -> AsyncStream<WSFrame> {
    let (stream, continuation) = AsyncStream<WSFrame>.makeStream()
    let id = UUID()
    state.withLock { state in
      state.clients[id] = continuation
      state.connections += 1
    }
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.clients.removeValue(forKey: id) }
    }
    return stream
  }

  private struct Client: WSHandler {
    let events: FakeLAVAEvents

    func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame>
    {
      let frames = events.connect()
      // Incoming frames (the client's pongs and close) are read and dropped.
      Task {
        for try await _ in client {}
      }
      return frames
    }
  }
}
