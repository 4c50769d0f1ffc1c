import Masking
import Protocols

/// A job log that masks what is written to it with a streaming masker of its own, to which a
/// job context adds the secrets a command registers (`JobContext.addMask`).
protocol MaskingJobLog: JobLog {
  /// Hides `secret` in everything written from now on, and in what is still held back.
  func addMask(_ secret: String)
}

/// The secrets of one job as a context keeps them: the template every masker of the job starts
/// from, and the log that must learn each secret added.
struct JobMasks: Sendable {
  private var template: SecretMasker

  init(_ masker: SecretMasker) { template = masker }

  func mask(_ text: String) -> String { template.mask(text) }

  /// A fresh streaming masker with every secret known now.
  func makeMasker() -> SecretMasker { template }

  mutating func add(_ secret: String, to log: any MaskingJobLog) {
    template.addMask(secret)
    log.addMask(secret)
  }
}
