import Testing

@testable import LAVA

/// The job timeout `submit` reads from a definition, to warn when the GitLab job is shorter and
/// to decide whether another attempt fits (issue 9).
@Suite struct JobDefinitionJobTimeoutTests {
  @Test(arguments: [
    ("timeouts:\n  job:\n    minutes: 30\n", 1800),
    ("timeouts: {job: {hours: 2}, action: {minutes: 5}}\n", 7200),
    ("job_name: x\ntimeouts:\n  job: {seconds: 90}\n", 90),
    ("timeouts: {job: {days: 1}}\n", 86_400),
  ])
  func theJobTimeoutIsReadInSeconds(text: String, seconds: Int) {
    #expect(JobDefinitionValidator().jobTimeout(in: text) == seconds)
  }

  @Test(arguments: [
    "job_name: no timeouts\n", "timeouts: {action: {minutes: 5}}\n", "timeouts: {job: {minutes: 0}}\n",
    "timeouts: {job: 30}\n", "timeouts: {job: {minutes: '{{ job.LAVA_MINUTES }}'}}\n", "timeouts: [\n", "",
  ])
  func aMissingInvalidOrTemplatedJobTimeoutIsUnknown(text: String) {
    #expect(JobDefinitionValidator().jobTimeout(in: text) == nil)
  }
}
