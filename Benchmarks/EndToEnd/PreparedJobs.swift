import Foundation

/// The queued LAVA jobs part (a) reuses (`--submissions prepared`): jobs for the device type
/// nothing plays, so they stay Submitted, named after a fingerprint of their definition. The
/// LAVA server is the cache: a run lists the Submitted jobs of that name, submits only the ones
/// missing (in parallel), and leaves them queued for the next run and the next binary. A
/// definition changed (another fingerprint) makes a new pool; `--cancel-prepared` cancels
/// them all.
struct PreparedJobs: Sendable {
  /// What a pool's jobs are submitted with: their definition keys the cache.
  let deviceType: String
  let definitionTemplate: @Sendable (String) -> String

  static let namePrefix = "e2e-benchmark-pool-"

  /// FNV-1a (64 bits) of the definition with a placeholder name: the same setup, the same pool.
  var fingerprint: String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in "\(deviceType)\n\(definitionTemplate("NAME"))".utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return String(hash, radix: 16)
  }

  var name: String { Self.namePrefix + fingerprint }
  var definition: String { definitionTemplate(name) }

  /// What to do with the queued jobs found: the pool's (the first `needed`, in id order) to
  /// use, how many to submit, and the Submitted jobs of older pools to cancel. Jobs of other
  /// names (another engineer's run waiting on them now) are never touched.
  static func reconcile(found: [(id: Int64, description: String)], name: String, needed: Int)
    -> (use: [Int64], submit: Int, cancel: [Int64])
  {
    let mine = found.filter { $0.description == name }.map(\.id).sorted()
    let stale = found.filter { $0.description != name && $0.description.hasPrefix(namePrefix) }.map(\.id)
    let use = Array(mine.prefix(needed))
    return (use, needed - use.count, stale.sorted())
  }
}

extension BenchLAVA {
  /// The Submitted jobs of `deviceType` whose name starts with `prefix`.
  func queuedJobs(named prefix: String, deviceType: String) async throws -> [(id: Int64, description: String)]
  {
    struct Page: Decodable {
      struct Job: Decodable {
        var id: Int64
        var description: String
      }
      var results: [Job]
      var next: String?
    }
    var jobs: [(id: Int64, description: String)] = []
    var offset = 0
    while true {
      let data = try await rest(
        "GET",
        "jobs/?requested_device_type=\(deviceType)&state=Submitted&description__startswith=\(prefix)"
          + "&ordering=id&limit=1000&offset=\(offset)")
      let page = try JSONDecoder().decode(Page.self, from: data)
      jobs += page.results.map { ($0.id, $0.description) }
      offset += page.results.count
      guard page.next != nil, !page.results.isEmpty, offset < 20_000 else { return jobs }
    }
  }

  /// The pool's first `count` job ids, after submitting the missing ones `parallel` at a time
  /// and canceling older pools' jobs; `log` says what it did.
  func preparedJobs(_ pool: PreparedJobs, count: Int, parallel: Int = 8, log: (String) -> Void) async throws
    -> [Int64]
  {
    let found = try await queuedJobs(named: PreparedJobs.namePrefix, deviceType: pool.deviceType)
    let plan = PreparedJobs.reconcile(found: found, name: pool.name, needed: count)
    if !plan.cancel.isEmpty {
      log("canceling \(plan.cancel.count) queued jobs of an older prepared pool")
      await cancel(plan.cancel)
    }
    guard plan.submit > 0 else {
      log("reusing \(plan.use.count) prepared queued LAVA jobs (\(pool.name))")
      return plan.use
    }
    log(
      "submitting \(plan.submit) queued LAVA jobs for the prepared pool (\(pool.name)), \(parallel) at a time"
    )
    let body = try JSONSerialization.data(withJSONObject: ["definition": pool.definition])
    let submitted = try await withThrowingTaskGroup(of: [Int64].self) { group in
      var ids: [Int64] = []
      for index in 0..<plan.submit {
        if index >= parallel, let more = try await group.next() { ids += more }
        group.addTask {
          struct Submitted: Decodable { var job_ids: [Int64] }
          let reply = try await rest("POST", "jobs/", body: body)
          return try JSONDecoder().decode(Submitted.self, from: reply).job_ids
        }
      }
      for try await more in group { ids += more }
      return ids
    }
    guard submitted.count == plan.submit else {
      throw BenchmarkError.wrongOutput("LAVA gave \(submitted.count) job ids for \(plan.submit) submissions")
    }
    return (plan.use + submitted).sorted()
  }

  /// How many of `ids` are still Submitted (someone may cancel queued jobs of this device type).
  func stillQueued(_ ids: [Int64], deviceType: String) async throws -> Int {
    let wanted = Set(ids)
    let found = try await queuedJobs(named: PreparedJobs.namePrefix, deviceType: deviceType)
    return found.filter { wanted.contains($0.id) }.count
  }
}
