import Foundation
import Protocols
import TestSupport
import Testing

@testable import LAVA

/// What the queue watchdog asks LAVA about a device type (issue 9): its devices, paged, and the
/// jobs waiting for it that were submitted before the job asked about.
@Suite struct LAVAQueueFactsTests {
  @Test func devicesOnlineIdleAndJobsAheadComeFromLAVAsLists() async throws {
    try await LAVAClientTests.withClient { lava, client in
      // Seven devices over three pages of three; two retired or in maintenance, one running.
      await lava.setPageSize(3)
      for n in 1...5 {
        await lava.addDevice("rock-0\(n)", type: "rock5b", health: n == 5 ? "Unknown" : "Good")
      }
      await lava.addDevice("rock-06", type: "rock5b", health: "Retired")
      await lava.addDevice("rock-07", type: "rock5b", health: "Maintenance")
      await lava.addDevice("qemu-01", type: "qemu")
      await lava.setDeviceState("rock-01", "Running")
      let ahead1 = await lava.addJob(FakeLAVAJob(state: "Submitted", deviceType: "rock5b"))
      await lava.addJob(FakeLAVAJob(state: "Running", deviceType: "rock5b"))
      await lava.addJob(FakeLAVAJob(state: "Submitted", deviceType: "qemu"))
      let ahead2 = await lava.addJob(FakeLAVAJob(state: "Submitted", deviceType: "rock5b"))
      let mine = await lava.addJob(FakeLAVAJob(state: "Submitted", deviceType: "rock5b"))
      await lava.addJob(FakeLAVAJob(state: "Submitted", deviceType: "rock5b"))

      let facts = try await client.queue(ofDeviceType: "rock5b", before: mine)
      #expect(
        facts == LAVADeviceTypeQueue(deviceType: "rock5b", devices: 7, online: 5, idle: 4, jobsAhead: 2),
        "jobs \(ahead1) and \(ahead2) are ahead")
      #expect(await lava.requests(to: .devices).count == 3)
    }
  }

  @Test(arguments: ["", "rock 5b", "qemu&state=Running", "../jobs", "é"])
  func aDeviceTypeThatIsNotAPlainNameIsNeverPutInAFilter(deviceType: String) async throws {
    try await LAVAClientTests.withClient { lava, client in
      await #expect(throws: LAVAClientError.self) {
        try await client.queue(ofDeviceType: deviceType, before: 1)
      }
      #expect(await lava.requests.isEmpty)
    }
  }
}
