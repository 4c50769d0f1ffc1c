import Foundation
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct HTTPClientRedirectTests {
  static let credentials: HTTPHeaders = [
    "JOB-TOKEN": "job-secret", "PRIVATE-TOKEN": "glpat-secret", "Authorization": "Bearer abc",
    "X-Trace": "keep-me",
  ]

  @Test func redirectOnTheSameOriginKeepsEveryHeader() async throws {
    let final = Locked<RecordedRequest?>(nil)
    try await withLocalHTTPServer { request in
      if request.path == "/start" { return .redirect(302, to: "/final") }
      final.withLock { $0 = request }
      return .text("done")
    } body: { base in
      try await withHTTPClient { client in
        let response = try await client.data(
          for: HTTPRequest(url: base.appendingPathComponent("start"), headers: Self.credentials))
        #expect(response.status == 200)
        #expect(response.body == Data("done".utf8))
        #expect(response.head.url == base.appendingPathComponent("final"))
      }
    }
    let request = try #require(final.current)
    #expect(request.header("JOB-TOKEN") == "job-secret")
    #expect(request.header("PRIVATE-TOKEN") == "glpat-secret")
    #expect(request.header("Authorization") == "Bearer abc")
  }

  @Test func redirectToAnotherPortDropsSensitiveHeaders() async throws {
    let other = Locked<RecordedRequest?>(nil)
    try await withLocalHTTPServer { request in
      other.withLock { $0 = request }
      return .text("artifact")
    } body: { otherBase in
      try await withLocalHTTPServer { _ in
        .redirect(302, to: otherBase.appendingPathComponent("object").absoluteString)
      } body: { base in
        try await withHTTPClient { client in
          var headers = Self.credentials
          headers.add(name: "X-Custom-Secret", value: "custom-secret")
          var request = HTTPRequest(url: base.appendingPathComponent("artifacts"), headers: headers)
          request.sensitiveHeaderNames.insert("x-custom-secret")
          let response = try await client.data(for: request)
          #expect(response.body == Data("artifact".utf8))
        }
      }
    }
    let request = try #require(other.current, "the redirect target was never asked")
    for name in ["JOB-TOKEN", "PRIVATE-TOKEN", "Authorization", "X-Custom-Secret"] {
      #expect(request.header(name) == nil, "\(name) was sent to another origin")
    }
    #expect(request.header("X-Trace") == "keep-me")
  }

  @Test func redirectLoopEndsWithTooManyRedirects() async throws {
    let hits = Locked(0)
    try await withLocalHTTPServer { _ in
      hits.withLock { $0 += 1 }
      return .redirect(302, to: "/loop")
    } body: { base in
      try await withHTTPClient { client in
        let url = base.appendingPathComponent("loop")
        await #expect(throws: HTTPClientError.tooManyRedirects(url: url.absoluteString, limit: 5)) {
          _ = try await client.data(for: HTTPRequest(url: url, redirectLimit: 5))
        }
      }
    }
    #expect(hits.current == 6)
  }

  @Test func seeOtherTurnsAPostIntoAGetWithoutBody() async throws {
    let final = Locked<RecordedRequest?>(nil)
    try await withLocalHTTPServer { request in
      if request.path == "/submit" { return .redirect(303, to: "/result") }
      final.withLock { $0 = request }
      return .text("ok")
    } body: { base in
      try await withHTTPClient { client in
        _ = try await client.data(
          for: HTTPRequest(
            method: .post, url: base.appendingPathComponent("submit"),
            headers: ["Content-Type": "application/json"], body: .data(Data("{}".utf8))))
      }
    }
    let request = try #require(final.current)
    #expect(request.method == "GET")
    #expect(request.body.isEmpty)
    #expect(request.header("Content-Type") == nil)
  }

  @Test(arguments: [307, 308])
  func temporaryAndPermanentRedirectsResendMethodAndBody(status: Int) async throws {
    let final = Locked<RecordedRequest?>(nil)
    let body = Data(#"{"state":"success"}"#.utf8)
    try await withLocalHTTPServer { request in
      if request.path == "/old" { return .redirect(status, to: "/new") }
      final.withLock { $0 = request }
      return .text("ok")
    } body: { base in
      try await withHTTPClient { client in
        _ = try await client.data(
          for: HTTPRequest(method: .put, url: base.appendingPathComponent("old"), body: .data(body)))
      }
    }
    let request = try #require(final.current)
    #expect(request.method == "PUT")
    #expect(request.body == body)
  }

  @Test func redirectLimitZeroHandsTheRedirectBack() async throws {
    try await withLocalHTTPServer { _ in
      .redirect(302, to: "/elsewhere")
    } body: { base in
      try await withHTTPClient { client in
        let response = try await client.data(for: HTTPRequest(url: base, redirectLimit: 0))
        #expect(response.status == 302)
        #expect(response.headers["location"] == "/elsewhere")
      }
    }
  }
}

@Suite struct HTTPRedirectPolicyTests {
  let start = URL(string: "https://gitlab.example.com/api/v4/jobs/1/artifacts")!

  @Test func dropsCredentialsWhenOnlyTheSchemeChanges() throws {
    let request = HTTPRequest(url: start, headers: ["JOB-TOKEN": "x", "Accept": "*/*"])
    let target = try #require(URL(string: "http://gitlab.example.com/api/v4/jobs/1/artifacts"))
    let next = try #require(RedirectPolicy.nextRequest(after: request, status: 302, target: target))
    #expect(next.headers["JOB-TOKEN"] == nil)
    #expect(next.headers["Accept"] == "*/*")
  }

  @Test func keepsCredentialsOnTheSameOriginWithTheDefaultPortSpelledOut() throws {
    let request = HTTPRequest(url: start, headers: ["Authorization": "Bearer x"])
    let target = try #require(URL(string: "https://GITLAB.example.com:443/other"))
    let next = try #require(RedirectPolicy.nextRequest(after: request, status: 301, target: target))
    #expect(next.headers["authorization"] == "Bearer x")
  }

  @Test func refusesToLeaveHTTP() throws {
    let request = HTTPRequest(url: start)
    let target = try #require(URL(string: "file:///etc/passwd"))
    #expect(RedirectPolicy.nextRequest(after: request, status: 302, target: target) == nil)
  }
}

@Suite struct HTTPHeadersTests {
  @Test func lookupIgnoresCaseAndSettingReplacesEveryField() {
    var headers: HTTPHeaders = ["Set-Cookie": "a=1"]
    headers.add(name: "set-cookie", value: "b=2")
    #expect(headers["SET-COOKIE"] == "a=1")
    #expect(headers.values(for: "Set-Cookie") == ["a=1", "b=2"])
    headers["Set-Cookie"] = "c=3"
    #expect(headers.values(for: "set-cookie") == ["c=3"])
    headers["set-cookie"] = nil
    #expect(!headers.contains("Set-Cookie"))
  }

  @Test func headerWithALineBreakIsRejectedWithoutShowingTheValue() async throws {
    try await withHTTPClient { client in
      let request = HTTPRequest(
        url: URL(string: "http://127.0.0.1:9/")!, headers: ["JOB-TOKEN": "secret\r\nX-Injected: 1"])
      let error = await #expect(throws: HTTPClientError.self) { _ = try await client.data(for: request) }
      #expect(!String(describing: error).contains("secret"))
    }
  }

  @Test func displayedURLHidesUserinfoAndQuery() throws {
    let url = try #require(
      URL(string: "https://u:p@host.example:8443/path/file.zip?X-Amz-Signature=abc#frag"))
    #expect(url.maskedForDisplay == "https://host.example:8443/path/file.zip?<query hidden>")
  }
}
