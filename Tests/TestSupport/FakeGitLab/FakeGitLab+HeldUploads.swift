import FlyingFox
import Foundation

/// How a held `POST jobs/:id/artifacts` stands while the test holds it.
public enum ArtifactUploadHold: Sendable, Equatable {
  /// GitLab has not stored the upload yet (Workhorse is still taking it): released, it is stored
  /// and answered; if the runner dies meanwhile (``FakeGitLab/runnerProcessDied()``), it never is.
  case beforeStoring
  /// GitLab stored the upload; only its reply is held: released, the runner gets its 201; if
  /// the runner dies meanwhile, GitLab keeps the artifact and the runner never learns it.
  case afterStoring
}

/// An upload the fake holds, waiting for the test.
struct HeldUpload {
  let jobID: Int64
  let artifactType: String
  let hold: ArtifactUploadHold
  var arrived = false
  var continuation: CheckedContinuation<Bool, Never>?
}

extension FakeGitLab {
  /// Holds the next `POST jobs/:id/artifacts` of `artifactType` for job `jobID` until the test
  /// calls ``releaseHeldUploads()`` or the runner dies (``runnerProcessDied()``); GitLab's checks
  /// (token, multipart, type and format) still apply to it first.
  public func holdNextUpload(of jobID: Int64, artifactType: String, _ hold: ArtifactUploadHold) {
    heldUploads.append(HeldUpload(jobID: jobID, artifactType: artifactType, hold: hold))
  }

  /// Waits until a held upload of `artifactType` for job `jobID` has arrived and is held.
  public func waitForHeldUpload(of jobID: Int64, artifactType: String, timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    while !heldUploads.contains(where: {
      $0.jobID == jobID && $0.artifactType == artifactType && $0.continuation != nil
    }) {
      guard ContinuousClock.now < deadline else { throw FakeGitLabError.noHeldUpload(jobID: jobID) }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  /// Lets every held upload go on: it is stored (if it was not yet) and answered.
  public func releaseHeldUploads() { endHolds(connectionAlive: true) }

  /// Ends the holds: with `connectionAlive` false the runner that sent them is gone, so an
  /// upload held before storing is never stored and no reply reaches anyone.
  func endHolds(connectionAlive: Bool) {
    let held = heldUploads.filter { $0.continuation != nil }
    heldUploads.removeAll { $0.continuation != nil }
    for upload in held { upload.continuation?.resume(returning: connectionAlive) }
  }

  /// Holds `upload` when the test asked for it. Returns whether the request goes on: false when
  /// its connection dropped while it was held.
  func holdIfAsked(_ jobID: Int64, artifactType: String, stored: Bool) async -> Bool {
    guard
      let index = heldUploads.firstIndex(where: {
        $0.jobID == jobID && $0.artifactType == artifactType && !$0.arrived
          && ($0.hold == .afterStoring) == stored
      })
    else { return true }
    heldUploads[index].arrived = true
    return await withCheckedContinuation { continuation in
      heldUploads[index].continuation = continuation
    }
  }
}
