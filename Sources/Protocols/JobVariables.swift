/// One CI/CD variable of a job.
public struct JobVariable: Sendable, Equatable, Codable {
  public var key: String
  public var value: String
  /// Masked variables never appear in any output of the runner.
  public var masked: Bool
  /// Public variables are predefined ones such as `CI_JOB_ID`; others are the project's.
  public var isPublic: Bool
  /// A file-type variable: `value` is the file's content.
  public var file: Bool

  public init(key: String, value: String, masked: Bool = false, isPublic: Bool = false, file: Bool = false) {
    self.key = key
    self.value = value
    self.masked = masked
    self.isPublic = isPublic
    self.file = file
  }

  enum CodingKeys: String, CodingKey {
    case key, value, masked, file
    case isPublic = "public"
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    key = try container.decode(String.self, forKey: .key)
    value = try container.decodeIfPresent(String.self, forKey: .value) ?? ""
    masked = try container.decodeIfPresent(Bool.self, forKey: .masked) ?? false
    isPublic = try container.decodeIfPresent(Bool.self, forKey: .isPublic) ?? false
    file = try container.decodeIfPresent(Bool.self, forKey: .file) ?? false
  }
}

/// A job's variables, looked up by key. Later definitions of a key win, as in GitLab.
public struct JobVariables: Sendable, Equatable {
  public private(set) var all: [JobVariable]

  public init(_ variables: [JobVariable] = []) {
    self.all = variables
  }

  public subscript(key: String) -> String? {
    all.last(where: { $0.key == key })?.value
  }

  /// Values that must never be printed: those of masked variables.
  public var secretValues: [String] {
    all.filter(\.masked).map(\.value).filter { !$0.isEmpty }
  }
}
