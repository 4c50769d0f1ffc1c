import Foundation
import Protocols
import RunnerCore

/// Why a call to a LAVA server failed, with whose fault it is. Messages never hold the token:
/// server bodies quoted in them are masked with it before they are stored.
package enum LAVAClientError: JobFailure, Sendable, Equatable {
  /// 401/403: LAVA does not accept the token (or the token's user may not do this).
  case tokenRejected(server: String, detail: String)
  /// 400 on submit: LAVA's reason, e.g. `{"message":"Problem with submitted job data: …"}`.
  case definitionRejected(server: String, body: String)
  /// 404 on a job's detail (or on its logs when the detail says so too).
  case jobNotFound(id: Int64, server: String)
  /// The submission may have reached LAVA but no reply says so: not retried, because a second
  /// POST could start a duplicate job on a board.
  case submissionUncertain(server: String, detail: String)
  /// 5xx/408/429: the server is overloaded or failing; `retryAfter` is its own hint.
  case serverUnavailable(endpoint: String, status: Int, body: String, retryAfter: Duration? = nil)
  /// No usable reply: connection, TLS or timeout. `outage` when asking again may help (refused,
  /// lost or timed out, not TLS or a bad request).
  case transport(endpoint: String, detail: String, outage: Bool = true)
  /// A status LAVA does not give for this call (405, 413, …).
  case unexpectedStatus(endpoint: String, status: Int, body: String)
  /// A 2xx reply whose body is not what LAVA sends.
  case malformedReply(endpoint: String, detail: String)
  /// A local file for a download could not be written.
  case fileAccess(path: String, detail: String)
  /// A reply about another job than the one asked for (a proxy or cache mixing replies up):
  /// never taken as the asked job's state.
  case replyAboutOtherJob(endpoint: String, asked: [Int64], got: Int64)

  package var failureReason: FailureReason {
    switch self {
    case .tokenRejected, .definitionRejected, .jobNotFound:
      .scriptFailure
    case .submissionUncertain, .serverUnavailable, .transport, .unexpectedStatus, .malformedReply,
      .fileAccess, .replyAboutOtherJob:
      .runnerSystemFailure
    }
  }

  package var description: String {
    switch self {
    case .tokenRejected(let server, let detail):
      "LAVA refused LAVA_TOKEN (\(detail)) at \(server). Check the LAVA_TOKEN variable: it must be "
        + "an API token of a LAVA user (Profile → API tokens) allowed to submit and view jobs."
    case .definitionRejected(let server, let body):
      "LAVA at \(server) rejected the job definition: \(body)\nFix the definition and run the job again."
    case .jobNotFound(let id, let server):
      "LAVA job \(id) does not exist at \(server) (or LAVA_TOKEN's user may not see it). "
        + "Check the job id and LAVA_URL."
    case .submissionUncertain(let server, let detail):
      "Submitting to LAVA at \(server) failed after the request may have reached the server: "
        + "\(detail). It was not retried so as not to start the job twice; LAVA may have created it "
        + "anyway (see \(server)scheduler/myjobs)."
    case .serverUnavailable(let endpoint, let status, let body, _):
      "LAVA \(endpoint) answered \(status)"
        + (body.isEmpty ? "" : ": \(body)") + ". The LAVA server is overloaded or failing."
    case .transport(let endpoint, let detail, _):
      "LAVA \(endpoint) gave no reply: \(detail)"
    case .unexpectedStatus(let endpoint, let status, let body):
      "LAVA \(endpoint) answered \(status), which lava-runner does not expect"
        + (body.isEmpty ? "" : ": \(body)")
        + (status == 404 || status == 405 ? ". Check that LAVA_URL is the LAVA server's address." : "")
    case .malformedReply(let endpoint, let detail):
      "LAVA \(endpoint) sent a reply lava-runner cannot read: \(detail)"
    case .fileAccess(let path, let detail):
      "Could not write \(path) for a LAVA download: \(detail)"
    case .replyAboutOtherJob(let endpoint, let asked, let got):
      "LAVA \(endpoint) was asked about job\(asked.count == 1 ? "" : "s") "
        + asked.map(String.init).joined(separator: ", ")
        + " but answered about job \(got); the reply was not used. A proxy or cache in front of "
        + "LAVA may be mixing up replies."
    }
  }

}

extension LAVAClientError: RetryClassified {
  /// Only an unreachable or overloaded server is worth asking again; every other answer stands.
  package var retryability: Retryability {
    switch self {
    case .serverUnavailable(_, _, _, let retryAfter): .outage(retryAfter: retryAfter)
    case .transport(_, _, let outage): outage ? .outage(retryAfter: nil) : .final
    case .tokenRejected, .definitionRejected, .jobNotFound, .submissionUncertain, .unexpectedStatus,
      .malformedReply, .replyAboutOtherJob, .fileAccess:
      .final
    }
  }
}
