import Foundation

/// The runner's watcher of one LAVA server's jobs, shared by every command of the process that
/// follows jobs there: it learns the state of all of them with one batched request per round
/// and, where the server offers it, from LAVA's event stream. Obtained from
/// ``LAVAConnector/watcher(url:token:)``.
///
/// A command registers the ids it follows, asks ``nextChange(of:after:)`` for their states,
/// and unregisters them when done (also when cancelled): a registered id costs the server only
/// its share of the batched request.
public protocol LAVAJobWatcher: Sendable {
  /// Starts following `ids` (an id registered twice is followed until unregistered twice).
  func register(_ ids: [Int64]) async
  func unregister(_ ids: [Int64]) async

  /// The jobs' states as soon as they differ from `known` (at once when they already do; when
  /// `known` is empty, as soon as a round has read them). Returns the states unchanged too after
  /// a round that followed a failed one, so that a caller measuring an outage sees it end.
  /// An id LAVA does not list is left out of the result. Throws the round's error when the
  /// watcher's request failed (for an outage: ask again, the watcher keeps trying), and
  /// `CancellationError` when the calling task is cancelled.
  func nextChange(of ids: [Int64], after known: [Int64: LAVAJob]) async throws -> [Int64: LAVAJob]

  /// The last states read for `ids`, without waiting and without a request.
  func latest(of ids: [Int64]) async -> [Int64: LAVAJob]
}

extension LAVAJobWatcher {
  /// Runs `body` with `ids` registered and unregisters them however `body` ends.
  public func watching<T: Sendable>(_ ids: [Int64], _ body: () async throws -> T) async throws -> T {
    await register(ids)
    do {
      let value = try await body()
      await unregister(ids)
      return value
    } catch {
      await unregister(ids)
      throw error
    }
  }
}

extension LAVAConnector {
  /// Connectors without a shared watcher (test doubles) give nil: commands then ask each job's
  /// state themselves.
  public func watcher(url: URL, token: String) throws -> (any LAVAJobWatcher)? { nil }
}
