internal import CLibevent

/// SHA-256 from libcrypto, which TLS links anyway (with the CPU's SHA
/// instructions where it has them). Used for idempotency fingerprints.
public enum SHA256 {
  public static func hash(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let ok = bytes.withUnsafeBytes { input in
      digest.withUnsafeMutableBufferPointer { out in
        EVP_Digest(input.baseAddress, input.count, out.baseAddress, &length, EVP_sha256(), nil)
      }
    }
    precondition(ok == 1 && length == 32, "libcrypto's SHA-256 failed")
    return digest
  }
}
