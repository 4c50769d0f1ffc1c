import HTTP
import Protocols
import RunnerCore

/// A job log that masks what is written to it with a streaming masker of its own, to which a
/// job context adds the secrets a command registers (`JobContext.addMask`).
package protocol MaskingJobLog: JobLog {
  /// Hides `secret` in everything written from now on, and in what is still held back.
  func addMask(_ secret: String)
}

/// The secrets of one job as a context keeps them: the template every masker of the job starts
/// from, and the log that must learn each secret added.
package struct JobMasks: Sendable {
  private var template: SecretMasker

  package init(_ masker: SecretMasker) { template = masker }

  package func mask(_ text: String) -> String { template.mask(text) }

  /// A fresh streaming masker with every secret known now.
  package func makeMasker() -> SecretMasker { template }

  package mutating func add(_ secret: String, to log: any MaskingJobLog) {
    template.addMask(secret)
    log.addMask(secret)
  }
}
