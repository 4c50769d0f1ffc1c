import Commands
import Foundation
import LAVA
import Protocols
import RunnerCore

extension BenchmarkSuite {
  /// A LAVA log forwarded as `submit` forwards it, page by page: each `logs/` reply body parsed,
  /// its raw lines masked for `<id>_log.yaml`, its lines rendered with sections and masked for
  /// the job log, in the writes the follower makes. Baseline: masking the reply bodies as they
  /// are, the least any forwarding costs. Timed in CPU time of the thread, which a machine
  /// shared with other work inflates far less than wall time: ms per MB is CPU per MB.
  func lavaLogPath() throws(BenchmarkError) -> BenchmarkTable {
    let log = BenchmarkWorkloads.lavaLogPages(bytes: options.lavaLogPathBytes)
    var rawBytes = 0
    let baseline = cpuTime {
      var masker = SecretMasker(secrets: ["s3cr3t-benchmark-value"])
      rawBytes = 0
      for page in log.pages { rawBytes += masker.write(page).count }
      rawBytes += masker.flush().count
    }
    guard rawBytes == log.byteCount else { throw .wrongOutput("masked bodies have \(rawBytes) bytes") }
    var traceBytes = 0
    var artifactBytes = 0
    var lines = 0
    let forwarded = cpuTime {
      var trace = SecretMasker(secrets: ["s3cr3t-benchmark-value"])
      var artifact = SecretMasker(secrets: ["s3cr3t-benchmark-value"])
      traceBytes = 0
      artifactBytes = 0
      lines = 0
      var forwarder = CommandsFuzzEntryPoints.LogForwarder(jobID: 12)
      for page in log.pages {
        let parsed = LAVALogParser.lines(in: page)
        lines += parsed.count
        artifactBytes += forwarder.rawLog(of: parsed) { artifact.write($0).count }
        forwarder.forward(parsed) { traceBytes += trace.write($0).count }
      }
      forwarder.finish { traceBytes += trace.write($0.utf8).count }
      traceBytes += trace.flush().count
      artifactBytes += artifact.flush().count
    }
    guard lines == log.lineCount, artifactBytes == log.byteCount, traceBytes > log.byteCount / 2 else {
      throw .wrongOutput(
        "LAVA log path: \(lines) lines of \(log.lineCount), \(artifactBytes) artifact bytes of \(log.byteCount)"
      )
    }
    let megabytes = Double(log.byteCount) / 1_000_000
    return BenchmarkTable(
      title: "LAVA log forwarded (\(log.lineCount) lines, \(formatFigure(megabytes)) MB in "
        + "\(log.pages.count) pages: parse, raw log, render with sections, mask; thread CPU time); "
        + "CPU ms per MB = 1000 / MB/s",
      unit: "MB/s",
      baseline: BenchmarkRow(name: "mask the reply bodies (baseline)", work: megabytes, times: baseline),
      rows: [BenchmarkRow(name: "parse + render + mask, as the follower", work: megabytes, times: forwarded)])
  }

  /// CPU time of this thread for each repetition of `body`.
  func cpuTime(_ body: () -> Void) -> [Duration] {
    func now() -> Duration {
      var spec = timespec()
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
      return .seconds(spec.tv_sec) + .nanoseconds(spec.tv_nsec)
    }
    return (0..<max(1, options.repetitions)).map { _ in
      let start = now()
      body()
      return now() - start
    }
  }
}
