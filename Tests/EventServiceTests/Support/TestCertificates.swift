import Foundation

/// A throwaway CA and server certificates, made once per test run with the
/// `openssl` command in a temporary directory: nothing is checked in, and
/// nothing outlives the machine's clock.
struct TestCertificates: Sendable {
  /// A certificate chain and its key, as PEM file paths.
  struct Pair: Sendable {
    let certificate: String
    let key: String
  }

  let directory: String
  /// The CA the service is told to trust.
  let caFile: String
  /// For `localhost`, `api.test`, `127.0.0.1` and `::1`, signed by the CA.
  let server: Pair
  /// The same names, signed by a CA nobody trusts.
  let unknownCA: Pair
  /// Signed by the CA, but for `other.test` only.
  let wrongName: Pair
  /// The right names and CA, expired yesterday.
  let expired: Pair

  static let shared: Result<TestCertificates, TestFailure> = Result { try make() }
    .mapError { $0 as? TestFailure ?? TestFailure("\($0)") }

  static func get() throws -> TestCertificates { try shared.get() }

  private static func make() throws -> TestCertificates {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("event-service-tls-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    func path(_ name: String) -> String { "\(directory)/\(name)" }
    try makeCA("ca", in: directory)
    try makeCA("stranger-ca", in: directory)
    let names = "DNS:localhost,DNS:api.test,IP:127.0.0.1,IP:::1"
    try makeLeaf("server", ca: "ca", names: names, days: 2, in: directory)
    try makeLeaf("unknown", ca: "stranger-ca", names: names, days: 2, in: directory)
    try makeLeaf("wrong-name", ca: "ca", names: "DNS:other.test", days: 2, in: directory)
    try makeLeaf("expired", ca: "ca", names: names, days: -1, in: directory)
    func pair(_ name: String) -> Pair {
      Pair(certificate: path("\(name).pem"), key: path("\(name).key"))
    }
    return TestCertificates(
      directory: directory, caFile: path("ca.pem"), server: pair("server"),
      unknownCA: pair("unknown"), wrongName: pair("wrong-name"), expired: pair("expired"))
  }

  private static func makeCA(_ name: String, in directory: String) throws {
    try openssl(
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=Test \(name)",
      ], in: directory)
  }

  private static func makeLeaf(
    _ name: String, ca: String, names: String, days: Int, in directory: String
  ) throws {
    try openssl(
      [
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)",
      ], in: directory)
    let extensions = "\(directory)/\(name).ext"
    try """
    subjectAltName=\(names)
    basicConstraints=CA:FALSE
    keyUsage=digitalSignature
    extendedKeyUsage=serverAuth

    """.write(toFile: extensions, atomically: true, encoding: .utf8)
    try openssl(
      [
        "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
        "-CAcreateserial", "-out", "\(name).pem", "-days", "\(days)", "-extfile", extensions,
      ], in: directory)
  }

  private static func openssl(_ arguments: [String], in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = Pipe()
    try Launch.run(process)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      throw TestFailure("openssl \(arguments.first ?? "") failed: \(text)")
    }
  }
}
