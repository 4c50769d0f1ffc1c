import FlyingFox
import FlyingSocks
import Foundation

/// FlyingFox's default socket pool, with Nagle's algorithm turned off (`TCP_NODELAY`) on every
/// socket it waits on, as GitLab's front (nginx, `tcp_nodelay on`) and Puma have it.
///
/// FlyingFox writes a reply's head and its body in two writes. With Nagle on, the body waits
/// until the client acknowledges the head, and a client delays that acknowledgement by 40 ms
/// (delayed ACK): every reply with a body took 40 ms on loopback, whatever the client did,
/// which made a runner's intake of jobs from the fake GitLab about 20 jobs a second. The
/// listening socket is waited on first (for `accept`) and Linux passes its `TCP_NODELAY` on to
/// every connection it accepts; a connection is set again whenever it is waited on.
public struct NoDelaySocketPool: AsyncSocketPool {
  private let pool: any AsyncSocketPool

  public init(_ pool: any AsyncSocketPool = HTTPServer.defaultPool()) { self.pool = pool }

  public func prepare() async throws { try await pool.prepare() }

  public func run() async throws { try await pool.run() }

  public func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
    // Not a TCP socket (a Unix one): the option is refused, and there is no Nagle to turn off.
    try? socket.setValue(true, for: BoolSocketOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY))
    try await pool.suspendSocket(socket, untilReadyFor: events)
  }
}
