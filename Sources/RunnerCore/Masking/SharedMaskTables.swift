import Protocols
import Synchronization

/// The mask tables every job's masker has alike, kept once per process (issue 10: a runner holds
/// a masker per job, 1000 jobs waiting at once).
///
/// - The default patterns (GitLab's token prefixes, plus the job's `token_mask_prefixes`, and the
///   credential URL parameters) are the same in nearly every job: they are built once per set of
///   prefixes and shared, and a job's own tables hold only its secrets.
/// - A job's own lookup tables by byte value (the byte-pair table alone is 8 KiB) depend only
///   on how its secrets begin, which is nearly always alike too (`glcbt-` job tokens, the same
///   LAVA token): equal tables share one buffer.
///
/// Every cache is bounded: past `limit` distinct entries a job keeps tables of its own, so a
/// runner that sees ever new prefixes or secrets holds no more than before.
enum SharedMaskTables {
  static let limit = 64

  private struct DefaultsKey: Hashable {
    var tokenPrefixes: [[UInt8]]
    var urlParameterStarts: [[UInt8]]
  }

  private static let defaults = Mutex<[DefaultsKey: MaskPatterns]>([:])
  private static let pairTables = Mutex<Set<[UInt64]>>([])
  private static let offsetTables = Mutex<Set<[Int]>>([])
  private static let flagTables = Mutex<Set<[Bool]>>([])

  /// The patterns of a masker with no secret of its own.
  static let empty = MaskPatterns(secrets: [], tokenPrefixes: [], urlParameterStarts: [])

  /// The patterns for `tokenPrefixes` and `urlParameterStarts` alone, built once.
  static func defaults(tokenPrefixes: [[UInt8]], urlParameterStarts: [[UInt8]]) -> MaskPatterns {
    let key = DefaultsKey(tokenPrefixes: tokenPrefixes, urlParameterStarts: urlParameterStarts)
    if let patterns = defaults.withLock({ $0[key] }) { return patterns }
    // Built outside the lock: two jobs may build the same, and the first one stored is kept.
    let patterns = MaskPatterns(
      secrets: [], tokenPrefixes: tokenPrefixes, urlParameterStarts: urlParameterStarts)
    return defaults.withLock { cache in
      if let stored = cache[key] { return stored }
      guard cache.count < limit else { return patterns }
      cache[key] = patterns
      return patterns
    }
  }

  /// `table`, or an equal one already in use (the same buffer): the byte-pair tables.
  static func shared(_ table: [UInt64]) -> [UInt64] { intern(table, in: pairTables) }

  /// The same for the first-byte offsets.
  static func shared(_ table: [Int]) -> [Int] { intern(table, in: offsetTables) }

  /// The same for the tables of one flag a byte value.
  static func shared(_ table: [Bool]) -> [Bool] { intern(table, in: flagTables) }

  private static func intern<Table: Hashable & Sendable>(
    _ table: Table, in cache: borrowing Mutex<Set<Table>>
  ) -> Table {
    cache.withLock { tables in
      if let index = tables.firstIndex(of: table) { return tables[index] }
      guard tables.count < limit else { return table }
      tables.insert(table)
      return table
    }
  }
}
