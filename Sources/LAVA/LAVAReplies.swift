import Foundation
import HTTP
import Protocols
import RunnerCore
import YAML

/// The parts of LAVA's REST replies (API v0.2) that lava-runner reads. Unknown fields are
/// ignored; fields LAVA may leave null are optional.
package enum LAVAReplies {
  package struct Submitted: Decodable {
    package var job_ids: [Int64]
  }

  package struct Job: Decodable {
    package var id: Int64
    package var state: String
    package var health: String
    package var description: String?
    package var requested_device_type: String?
    package var actual_device: String?
    package var failure_comment: String?
    package var submit_time: String?
    package var start_time: String?
    package var end_time: String?

    package func job(endpoint: String) throws(LAVAClientError) -> LAVAJob {
      guard let state = LAVAJobState(rawValue: state) else {
        throw .malformedReply(endpoint: endpoint, detail: "job \(id) has the unknown state '\(state)'")
      }
      guard let health = LAVAJobHealth(rawValue: health) else {
        throw .malformedReply(endpoint: endpoint, detail: "job \(id) has the unknown health '\(health)'")
      }
      return LAVAJob(
        id: id, state: state, health: health, description: description ?? "",
        deviceType: requested_device_type, device: actual_device, failureComment: failure_comment,
        submitTime: submit_time, startTime: start_time, endTime: end_time)
    }
  }

  /// A device as `devices/` lists it: what the queue watchdog counts.
  package struct Device: Decodable {
    package var hostname: String
    package var health: String
    package var state: String
  }

  /// A paged list's total, without its items (`limit=1`).
  package struct Count: Decodable {
    package var count: Int
  }

  /// One page of a paged list: `next` is the URL of the following page, null on the last.
  package struct Page<Item: Decodable>: Decodable {
    package var next: String?
    package var results: [Item]
  }

  package struct Suite: Decodable {
    package var id: Int64
    package var name: String
    /// The job the suite belongs to (LAVA 2023.01 sends it; older releases may not).
    package var job: Int64?
  }

  package struct TestCase: Decodable {
    package var name: String
    package var result: String
    package var suite: Int64
    package var measurement: Measurement?
    package var unit: String?
  }

  /// A decimal measurement, which LAVA serializes as a string but older releases as a number.
  package struct Measurement: Decodable {
    package var text: String

    package init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let string = try? container.decode(String.self) {
        text = string
      } else {
        let number = try container.decode(Double.self)
        text = number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
      }
    }
  }

  /// `{"detail": "…"}`, Django REST framework's error body.
  package struct Detail: Decodable {
    package var detail: String
  }

  package static func decode<T: Decodable>(_ type: T.Type, _ body: Data, endpoint: String)
    throws(LAVAClientError)
    -> T
  {
    do {
      return try JSONDecoder().decode(type, from: body)
    } catch {
      throw .malformedReply(endpoint: endpoint, detail: "\(error)")
    }
  }
}
