import FlyingFox
import Foundation

/// One `POST jobs/:id/artifacts` the fake accepted.
public struct ArtifactUpload: Sendable {
  public let jobID: Int64
  public let artifactType: String
  public let artifactFormat: String
  public let expireIn: String?
  public let filename: String?
  public let data: Data
  /// Form fields other than `file` (older runners send type/format/expire_in this way too).
  public let fields: [String: String]

  /// The files in the uploaded zip (`path: bytes`).
  public func zipEntries() throws -> [String: Data] { try Archives.unzip(data) }
  /// The uploaded gzip stream, decompressed (all members concatenated).
  public func gunzipped() throws -> Data { try Archives.gunzip(data) }
}

struct DependencyArchive {
  let token: String
  let dependency: FakeJob.Dependency
  let data: Data?
  let signature = FakeGitLab.randomToken(length: 16)

  init(token: String, dependency: FakeJob.Dependency) {
    self.token = token
    self.dependency = dependency
    switch dependency.archive {
    case .zip(let data): self.data = data
    case .files(let files): self.data = try? Archives.zip(files)
    case .missing, .forbidden: self.data = nil
    }
  }

  var advertisedSize: Int { data?.count ?? 1024 }
}

extension FakeGitLab {
  /// `Ci::JobArtifact.file_types`: what `artifact_type` may be.
  static let artifactTypes: Set<String> = [
    "archive", "metadata", "trace", "junit", "sast", "dependency_scanning", "container_scanning", "dast",
    "codequality", "license_scanning", "performance", "metrics", "metrics_referee", "network_referee", "lsif",
    "dotenv", "cobertura", "terraform", "accessibility", "cluster_applications", "secret_detection",
    "requirements", "coverage_fuzzing", "browser_performance", "load_performance", "api_fuzzing",
    "cluster_image_scanning", "cyclonedx", "requirements_v2", "annotations", "repository_xray", "jacoco",
  ]
  /// Types whose format GitLab fixes (`Ci::JobArtifact::TYPE_AND_FORMAT_PAIRS`).
  static let requiredFormats: [String: String] = [
    "archive": "zip", "metadata": "gzip", "junit": "gzip", "dotenv": "gzip",
  ]

  /// `GET jobs/:id/artifacts` for a dependency, with the token the job payload gave for it.
  func downloadArtifacts(_ id: Int64, headers: HTTPHeaders, query: [HTTPRequest.QueryItem]) -> HTTPResponse {
    let what = "GET /jobs/\(id)/artifacts"
    guard let archive = archives[id] else {
      violation("\(what): \(id) is not a dependency of any job")
      return .apiError(403, "403 Forbidden - Job not found")
    }
    let token = Self.header(headers, "JOB-TOKEN") ?? query.first { $0.name == "token" }?.value
    guard token == archive.token else {
      violation("\(what): not the token the job payload gave for dependency \(archive.dependency.name)")
      return .apiError(403, "403 Forbidden")
    }
    downloads[id, default: 0] += 1
    switch archive.dependency.archive {
    case .missing: return .apiError(404, "404 Not found")
    case .forbidden: return .apiError(403, "403 Forbidden")
    case .zip, .files: break
    }
    guard let data = archive.data else {
      violation("fake: the test's files for dependency \(archive.dependency.name) did not make a zip")
      return .apiError(500, "500 Internal Server Error")
    }
    if archive.dependency.viaObjectStorage {
      let location =
        "\(objectStorageURL.absoluteString)/artifacts/\(id)/\(archive.dependency.filename)"
        + "?X-Amz-Signature=\(archive.signature)"
      return .text(302, "", headers: [("Location", location)])
    }
    return HTTPResponse(
      statusCode: .ok,
      headers: [
        .contentType: "application/zip",
        .contentDisposition: "attachment; filename=\"\(archive.dependency.filename)\"",
      ],
      body: data)
  }

  /// The second host: object storage serving a pre-signed URL. It must never see a GitLab token.
  func handleObjectStorage(_ request: HTTPRequest) async -> HTTPResponse {
    let what = "object storage \(request.method.rawValue) \(request.path)"
    if let fault = faultInjector.fault(for: .objectStorage) {
      injectedFaults.append(InjectedFault(endpoint: .objectStorage, fault: fault))
      return .fault(fault)
    }
    for name in ["JOB-TOKEN", "PRIVATE-TOKEN", "RUNNER-TOKEN"] where request.headers[HTTPHeader(name)] != nil
    {
      violation("\(what): received a \(name) header: the runner forwarded a GitLab token to another host")
    }
    if request.headers[.authorization] != nil {
      violation("\(what): received an Authorization header meant for GitLab")
    }
    let parts = request.path.split(separator: "/").map(String.init)
    guard request.method == .GET, parts.count == 3, parts[0] == "artifacts", let id = Int64(parts[1]),
      let archive = archives[id], let data = archive.data
    else {
      violation("\(what): no such object")
      return .text(404, "NoSuchKey")
    }
    guard request.query.first(where: { $0.name == "X-Amz-Signature" })?.value == archive.signature else {
      violation("\(what): the pre-signed URL's query was not kept")
      return .text(403, "SignatureDoesNotMatch")
    }
    objectStorageDownloads[id, default: 0] += 1
    return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/zip"], body: data)
  }

  /// `POST jobs/:id/artifacts`: multipart/form-data with the part `file`. One artifact per type
  /// and job, as in GitLab: the same bytes again are a success that keeps the first upload,
  /// other bytes are refused (400) and leave the first one.
  func uploadArtifacts(_ id: Int64, body: Data, request: HTTPRequest) async -> HTTPResponse {
    let what = "POST /jobs/\(id)/artifacts"
    switch authenticateJob(id, token: Self.header(request.headers, "JOB-TOKEN"), what) {
    case .success: break
    case .failure(let box): return box.response
    }
    let form: MultipartForm
    do {
      let boundary = try MultipartForm.boundary(fromContentType: request.headers[.contentType])
      form = try MultipartForm(body: body, boundary: boundary)
    } catch {
      violation("\(what): \(error)")
      return .apiError(400, "400 Bad request")
    }
    let files = form.parts.filter { $0.name == "file" }
    guard files.count == 1, let file = files.first else {
      violation("\(what): \(files.count) parts named `file`, expected exactly one")
      return .apiError(400, "400 Bad request - file is missing")
    }
    guard file.data.count <= configuration.maxArtifactBytes else {
      return .apiError(413, "413 Request Entity Too Large")
    }
    var fields: [String: String] = [:]
    for part in form.parts where part.name != "file" {
      fields[part.name] = String(decoding: part.data, as: UTF8.self)
    }
    func parameter(_ name: String) -> String? {
      request.query.first { $0.name == name }?.value ?? fields[name]
    }
    let type = parameter("artifact_type") ?? "archive"
    let format = parameter("artifact_format") ?? "zip"
    guard Self.artifactTypes.contains(type) else {
      violation("\(what): unknown artifact_type \"\(type)\"")
      return .apiError(400, "400 Bad request - artifact_type does not have a valid value")
    }
    guard ["zip", "gzip", "raw"].contains(format) else {
      violation("\(what): unknown artifact_format \"\(format)\"")
      return .apiError(400, "400 Bad request - artifact_format does not have a valid value")
    }
    if let required = Self.requiredFormats[type], required != format {
      violation("\(what): artifact_type \(type) must be uploaded as \(required), not \(format)")
      return .apiError(400, "400 Bad request - Invalid file format")
    }
    if type == "dotenv", let problem = DotenvRules.problem(inUpload: file.data) {
      violation("\(what): GitLab refuses this dotenv report: \(problem)")
      return .apiError(400, problem)
    }
    guard await holdIfAsked(id, artifactType: type, stored: false) else {
      return .apiError(400, "400 Bad request - the upload was cut")
    }
    let upload = ArtifactUpload(
      jobID: id, artifactType: type, artifactFormat: format, expireIn: parameter("expire_in"),
      filename: file.filename, data: file.data, fields: fields)
    if let existing = uploads.first(where: { $0.jobID == id && $0.artifactType == type }) {
      guard existing.data == file.data else {
        violation(
          "\(what): a second, different \(type) artifact: GitLab keeps the first and refuses this one")
        return .apiError(400, "400 Bad request - another artifact of the same type already exists")
      }
      identicalReuploads.append(upload)
    } else {
      uploads.append(upload)
    }
    _ = await holdIfAsked(id, artifactType: type, stored: true)
    return .text(201, "201")
  }
}
