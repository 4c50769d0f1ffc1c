import Foundation
import Protocols

/// The parts of LAVA's REST replies (API v0.2) that lava-runner reads. Unknown fields are
/// ignored; fields LAVA may leave null are optional.
enum LAVAReplies {
  struct Submitted: Decodable {
    var job_ids: [Int64]
  }

  struct Job: Decodable {
    var id: Int64
    var state: String
    var health: String
    var description: String?
    var requested_device_type: String?
    var actual_device: String?
    var failure_comment: String?

    func job(endpoint: String) throws(LAVAClientError) -> LAVAJob {
      guard let state = LAVAJobState(rawValue: state) else {
        throw .malformedReply(endpoint: endpoint, detail: "job \(id) has the unknown state '\(state)'")
      }
      guard let health = LAVAJobHealth(rawValue: health) else {
        throw .malformedReply(endpoint: endpoint, detail: "job \(id) has the unknown health '\(health)'")
      }
      return LAVAJob(
        id: id, state: state, health: health, description: description ?? "",
        deviceType: requested_device_type, device: actual_device, failureComment: failure_comment)
    }
  }

  /// One page of a paged list: `next` is the URL of the following page, null on the last.
  struct Page<Item: Decodable>: Decodable {
    var next: String?
    var results: [Item]
  }

  struct Suite: Decodable {
    var id: Int64
    var name: String
    /// The job the suite belongs to (LAVA 2023.01 sends it; older releases may not).
    var job: Int64?
  }

  struct TestCase: Decodable {
    var name: String
    var result: String
    var suite: Int64
    var measurement: Measurement?
    var unit: String?
  }

  /// A decimal measurement, which LAVA serializes as a string but older releases as a number.
  struct Measurement: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
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
  struct Detail: Decodable {
    var detail: String
  }

  static func decode<T: Decodable>(_ type: T.Type, _ body: Data, endpoint: String) throws(LAVAClientError)
    -> T
  {
    do {
      return try JSONDecoder().decode(type, from: body)
    } catch {
      throw .malformedReply(endpoint: endpoint, detail: "\(error)")
    }
  }
}
