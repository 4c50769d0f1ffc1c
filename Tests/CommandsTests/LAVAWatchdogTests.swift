import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

// LAVA_HANG_TIMEOUT is about the device, never about the runner: a hang is declared only from
// a look at the log that began a whole timeout after the last sign of life and found nothing.
// A runner that could not look for a while (starved of CPU on a loaded node, a stopped process,
// a slow round) must not cancel a LAVA job that kept printing meanwhile. CI saw exactly that:
// a loaded machine held the follower of a printing multinode job for seconds, and it was
// canceled as hung.

@Test func aHangIsDeclaredFromALookAtTheLogNotFromTheTimeTheRunnerWasAway() {
  let start = ContinuousClock.now
  var watchdog = LAVAWatchdog(hangTimeout: .seconds(1), queueTimeout: nil, began: start)
  #expect(watchdog.check(.running, at: start) == nil)
  watchdog.lookedAtLog(at: start)
  // Five seconds away without a look: nothing is known about the device.
  #expect(watchdog.check(.running, at: start + .seconds(5)) == nil)
  // A look that began 1.5 s after the last sign and brought nothing: hung.
  watchdog.lookedAtLog(at: start + .milliseconds(1500))
  #expect(watchdog.check(.running, at: start + .seconds(5)) == .hang(quiet: .seconds(5)))
}

@Test func linesFoundByALateLookKeepTheJobAlive() {
  let start = ContinuousClock.now
  var watchdog = LAVAWatchdog(hangTimeout: .seconds(1), queueTimeout: nil, began: start)
  #expect(watchdog.check(.running, at: start) == nil)
  watchdog.lookedAtLog(at: start + .seconds(4))
  watchdog.sawLines(at: start + .milliseconds(4100))
  #expect(watchdog.check(.running, at: start + .seconds(5)) == nil)
  // An older read that ends late does not move the last look back.
  watchdog.lookedAtLog(at: start + .seconds(2))
  #expect(watchdog.check(.running, at: start + .seconds(6)) == nil)
  watchdog.lookedAtLog(at: start + .milliseconds(5200))
  #expect(watchdog.check(.running, at: start + .seconds(6)) != nil)
}

@Test func aRunnerHeldUpLongerThanTheHangTimeoutDoesNotCancelAJobThatKeptPrinting() async throws {
  // Each read brings a new line: the job printed while the runner was away.
  let fake = FakeLAVAServer(submitting: [120])
  var printing = FakeLAVAServer.ScriptedJob(
    steps: Array(repeating: .init(.running, device: "qemu-01"), count: 20)
      + [.init(.finished, .complete, device: "qemu-01")],
    lines: targetLines(1000) + [lavaJobPass])
  printing.printsOnEachRead = true
  fake.script(120, printing)
  let context = try lavaContext(
    fake, files: ["lava-job.yaml": "job_name: held up\nactions: []\n"],
    variables: [JobVariable(key: "LAVA_HANG_TIMEOUT", value: "1")],
    jobWatcher: RoundWatcher(fake, stallOnceRunning: .milliseconds(1500)))

  let failure = await outcome {
    try await SubmitCommand(file: "lava-job.yaml", polling: fastPolling).run(in: context)
  }
  #expect(failure == nil, "\(failure.map(\.message) ?? "")")
  #expect(fake.canceled.isEmpty)
  #expect(!context.recordingLog.plainText.contains("LAVA_HANG_TIMEOUT"))
  #expect(fake.protocolMistakes.isEmpty, "\(fake.protocolMistakes)")
}
