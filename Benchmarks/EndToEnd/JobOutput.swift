import Foundation

/// LAVA's own store of a job's log (LogsFilesystem): `output.yaml` and its line index
/// `output.idx` in `<MEDIA_ROOT>/job-output/YYYY/MM/DD/<id>/`, YYYY/MM/DD being the job's
/// submit date. The played worker's `logs/` POSTs end there after LAVA parses every line with
/// YAML (about 1.5 s per MB here); writing the same two files directly puts a 50 MB log in
/// place in well under a second, and the runner reads it back through the same REST API.
struct JobOutput {
  /// `<MEDIA_ROOT>/job-output` (`LAVA_BENCH_JOB_OUTPUT_DIR` from bench-setup).
  var root: URL

  /// The directory of job `id` submitted at `submitTime` (LAVA's `submit_time`,
  /// `2026-11-30T22:30:01.123456Z`).
  func directory(of id: Int64, submitTime: String) throws -> URL {
    let date = submitTime.prefix(10).split(separator: "-")
    guard date.count == 3, date.allSatisfy({ $0.allSatisfy(\.isNumber) }) else {
      throw BenchmarkError.wrongOutput("LAVA's submit_time '\(submitTime)' is not a date")
    }
    return root.appendingPathComponent("\(date[0])/\(date[1])/\(date[2])/\(id)", isDirectory: true)
  }

  /// Puts `corpus` as the whole log of the job whose output directory is `directory`, each file
  /// renamed into place whole: the index first, so that a reader meanwhile finds no log (404,
  /// as before the first line) rather than part of one. The job must have no log yet.
  func write(_ corpus: LogCorpus, into directory: URL) throws {
    let manager = FileManager.default
    try manager.createDirectory(at: directory, withIntermediateDirectories: true)
    for name in ["output.yaml", "output.idx"]
    where manager.fileExists(atPath: directory.appendingPathComponent(name).path) {
      throw BenchmarkError.wrongOutput("\(directory.path)/\(name) exists: the job has a log already")
    }
    for (name, data) in [("output.idx", corpus.lavaIndex()), ("output.yaml", corpus.text)] {
      let temporary = directory.appendingPathComponent(".\(name).e2e-benchmark")
      try data.write(to: temporary)
      guard rename(temporary.path, directory.appendingPathComponent(name).path) == 0 else {
        throw BenchmarkError.toolFailed("renaming \(temporary.path): errno \(errno)")
      }
    }
  }
}
