import Foundation
import Protocols
import TestSupport
import Testing

@testable import LAVA

/// The watcher's tiers against the fake LAVA: queued jobs (cold) are asked once per quiet
/// interval with `state__in=`, the others (hot) every round, every request counted with its query.
@Suite struct LAVAWatcherTierTests {
  typealias Base = LAVAWatcherTests

  /// One `jobs/` request as the watcher sent it: the ids asked and whether it was filtered.
  struct Asked: Equatable {
    var ids: [Int64]
    var states: String?
  }

  static func asked(_ lava: FakeLAVA) async -> [Asked] {
    await lava.requests(to: .jobList).map { record in
      let items = URLComponents(string: "http://h/?\(record.query)")?.queryItems ?? []
      let ids = items.first { $0.name == "id__in" }?.value?.split(separator: ",").compactMap { Int64($0) }
      return Asked(ids: ids ?? [], states: items.first { $0.name == "state__in" }?.value)
    }
  }

  static let moved = "Scheduling,Scheduled,Running,Canceling,Finished"

  @Test func queuedJobsAreAskedOncePerQuietIntervalFilteredWhileARunningOneIsAskedEveryRound()
    async throws
  {
    try await Base.withWatcher(
      events: false, timing: Base.timing(active: .milliseconds(50), quietMax: .seconds(2))
    ) { lava, _, watcher in
      var added: [Int64] = []
      for _ in 0..<100 { added.append(await lava.addJob(FakeLAVAJob(state: "Submitted"))) }
      let queued = added
      let running = await lava.addJob(FakeLAVAJob(state: "Running"))
      await watcher.register(queued + [running])
      let first = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued + [running], after: [:])
      }
      #expect(first.count == 101)
      // Two cold reads after the first round: about two quiet intervals of active rounds.
      try await Base.waitUntil { await Self.asked(lava).filter { $0.states != nil }.count >= 2 }
      await watcher.unregister(queued + [running])
      let requests = await Self.asked(lava)
      // The first round reads everything, unfiltered: nothing is known yet.
      #expect(requests.first == Asked(ids: queued + [running], states: nil))
      var hotSinceCold = 0
      var cold = 0
      for request in requests.dropFirst() {
        if request.states == nil {
          #expect(request.ids == [running])
          hotSinceCold += 1
        } else {
          #expect(request == Asked(ids: queued, states: Self.moved))
          // Not every round: a cold read comes a quiet interval (about 40 rounds on an idle
          // machine, fewer when the tests around it starve the loop) after the last.
          #expect(hotSinceCold >= 2)
          hotSinceCold = 0
          cold += 1
        }
      }
      #expect(cold >= 2)
    }
  }

  @Test func aQueuedJobThatMovesIsSeenAtTheNextColdRead() async throws {
    try await Base.withWatcher(
      events: false, timing: Base.timing(active: .milliseconds(50), quietMax: .milliseconds(500))
    ) { lava, _, watcher in
      let queued = [
        await lava.addJob(FakeLAVAJob(state: "Submitted")),
        await lava.addJob(FakeLAVAJob(state: "Submitted")),
      ]
      let running = await lava.addJob(FakeLAVAJob(state: "Running"))
      await watcher.register(queued + [running])
      let known = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued, after: [:])
      }
      let before = await Self.asked(lava).count
      await lava.update(queued[0]) {
        $0.state = "Running"
        $0.device = "qemu-01"
      }
      let moved = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued, after: known)
      }
      #expect(moved[queued[0]]?.state == .running)
      #expect(moved[queued[0]]?.device == "qemu-01")
      #expect(moved[queued[1]]?.state == .submitted)
      // Seen by a filtered read: until then no unfiltered request named it.
      let since = await Self.asked(lava).dropFirst(before)
      let seenBy = since.firstIndex { $0.ids.contains(queued[0]) }
      #expect(seenBy.map { since[$0] } == Asked(ids: queued, states: Self.moved))
      // Now hot: asked every round, unfiltered.
      try await Base.waitUntil {
        await Self.asked(lava).dropFirst(before).contains {
          $0 == Asked(ids: [queued[0], running], states: nil)
        }
      }
      await watcher.unregister(queued + [running])
    }
  }

  @Test func anEventNamingAQueuedJobMakesItAskedAtOnceAlone() async throws {
    // Cold reads every 60 s: only the event can explain the job being asked within seconds.
    try await Base.withWatcher(
      events: true, timing: Base.timing(active: .seconds(60), quietMax: .seconds(60))
    ) { lava, actor, watcher in
      var added: [Int64] = []
      for _ in 0..<20 { added.append(await lava.addJob(FakeLAVAJob(state: "Submitted"))) }
      let queued = added
      await watcher.register(queued)
      let known = try await Base.within(.seconds(10)) { try await watcher.nextChange(of: queued, after: [:]) }
      try await Base.waitUntil { await actor.streamConnected }
      // Let the cold read the connection starts land.
      var count = -1
      while true {
        let (done, inFlight) = (await lava.requests(to: .jobList).count, await lava.requestsInFlight)
        if done == count && inFlight == 0 { break }
        count = done
        try await Task.sleep(for: .milliseconds(300))
      }
      let before = count
      await lava.update(queued[7]) { $0.state = "Scheduled" }
      let moved = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued, after: known)
      }
      #expect(moved[queued[7]]?.state == .scheduled)
      #expect(
        Array(await Self.asked(lava).dropFirst(before).prefix(1)) == [Asked(ids: [queued[7]], states: nil)])
      await watcher.unregister(queued)
    }
  }

  @Test func thePeriodicUnfilteredReadNoticesAVanishedJobAndFilteredOnesKeepQueuedStates() async throws {
    // No stream and nothing running: every round is a cold read after a pause of at most 50 ms.
    try await Base.withWatcher(
      events: false, timing: Base.timing(active: .milliseconds(20), quietMax: .milliseconds(50))
    ) { lava, _, watcher in
      let queued = [
        await lava.addJob(FakeLAVAJob(state: "Submitted")),
        await lava.addJob(FakeLAVAJob(state: "Submitted")),
      ]
      await watcher.register(queued)
      let known = try await Base.within(.seconds(10)) { try await watcher.nextChange(of: queued, after: [:]) }
      // Filtered reads list neither job: both keep their state.
      try await Base.waitUntil { await Self.asked(lava).filter { $0.states != nil }.count >= 3 }
      #expect(await watcher.latest(of: queued) == known)
      let before = await Self.asked(lava).count
      await lava.removeJob(queued[0])
      let after = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued, after: known)
      }
      #expect(after[queued[0]] == nil)
      #expect(after[queued[1]]?.state == .submitted)
      // Noticed by the periodic unfiltered read, after at most the filtered ones between two.
      let since = Array(await Self.asked(lava).dropFirst(before))
      let unfiltered = try #require(since.firstIndex { $0.states == nil })
      #expect(since[unfiltered].ids == queued)
      #expect(since[..<unfiltered].allSatisfy { $0 == Asked(ids: queued, states: Self.moved) })
      #expect(unfiltered <= LAVAWatcher.unfilteredColdReadEvery - 1)
      await watcher.unregister(queued)
    }
  }

  @Test func aServerIgnoringTheStateFilterStillGivesTrueStates() async throws {
    try await Base.withWatcher(
      events: false, timing: Base.timing(active: .milliseconds(50), quietMax: .milliseconds(200))
    ) { lava, _, watcher in
      await lava.setIgnoresStateFilter(true)
      var added: [Int64] = []
      for _ in 0..<5 { added.append(await lava.addJob(FakeLAVAJob(state: "Submitted"))) }
      let queued = added
      let running = await lava.addJob(FakeLAVAJob(state: "Running"))
      await watcher.register(queued + [running])
      let known = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued + [running], after: [:])
      }
      try await Base.waitUntil { await Self.asked(lava).filter { $0.states != nil }.count >= 2 }
      // Every queued job listed by the filtered reads, as Submitted: nothing changed.
      #expect(await watcher.latest(of: queued + [running]) == known)
      await lava.update(queued[2]) {
        $0.state = "Finished"
        $0.health = "Complete"
      }
      let moved = try await Base.within(.seconds(10)) {
        try await watcher.nextChange(of: queued, after: known.filter { queued.contains($0.key) })
      }
      #expect(moved[queued[2]]?.state == .finished)
      #expect(moved[queued[2]]?.health == .complete)
      #expect(queued.filter { $0 != queued[2] }.allSatisfy { moved[$0]?.state == .submitted })
      await watcher.unregister(queued + [running])
    }
  }

  @Test func theFilteredQueryNamesLAVAsStatesBatchesAndRefusesAJobNotAskedFor() async throws {
    try await LAVAHostileReplyTests.withClient { lava, client in
      var added: [Int64] = []
      for index in 0..<250 {
        added.append(
          await lava.addJob(FakeLAVAJob(state: index == 3 || index == 240 ? "Running" : "Submitted")))
      }
      let ids = added
      let moved = try await client.jobs(ids, inStates: LAVAWatcher.movedStates)
      #expect(moved.map(\.id) == [ids[3], ids[240]])
      #expect(moved.allSatisfy { $0.state == .running })
      // One request per 200 ids, each filtered with LAVA's display names.
      let requests = await Self.asked(lava)
      #expect(requests.map(\.ids) == [Array(ids[..<200]), Array(ids[200...])])
      #expect(requests.allSatisfy { $0.states == Self.moved })
      #expect(try await client.jobs(ids, inStates: []) == [])
      #expect(await lava.requests(to: .jobList).count == 2)
      await lava.failNext(
        .jobList,
        with: .reply(
          200, body: #"{"next": null, "results": [{"id": 999, "state": "Running", "health": "Unknown"}]}"#))
      await #expect(throws: LAVAClientError.self) {
        _ = try await client.jobs([ids[3]], inStates: LAVAWatcher.movedStates)
      }
    }
  }
}
