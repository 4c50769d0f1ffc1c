import Synchronization

/// Lists GitLab sends the same in every job (`features.failure_reasons`,
/// `features.token_mask_prefixes`), kept once per process: each job decoded its own copy,
/// about 4 KB of strings a job for the failure reasons alone, held while the job runs
/// (issue 10: 1000 jobs in one runner).
enum RepeatedLists {
  /// The lists seen last, most recent at the end: a runner talks to one GitLab, and a few
  /// lists cover an upgrade of it while jobs run.
  private static let recent = Mutex<[[String]]>([])
  static let kept = 8

  /// `list`, or an equal list already kept (the same storage).
  static func shared(_ list: [String]) -> [String] {
    guard !list.isEmpty else { return list }
    return recent.withLock { recent in
      if let index = recent.firstIndex(of: list) {
        let same = recent.remove(at: index)
        recent.append(same)
        return same
      }
      if recent.count >= kept { recent.removeFirst() }
      recent.append(list)
      return list
    }
  }
}
