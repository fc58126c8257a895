internal import CLibevent
import Glibc

extension String {
  /// The string with %XX escapes decoded (not `+`), or nil if the result is
  /// not valid UTF-8 or holds a NUL byte.
  public var percentDecoded: String? {
    guard contains("%") else { return self }
    var length = 0
    guard let decoded = evhttp_uridecode(self, 0, &length) else { return nil }
    defer { free(decoded) }
    let bytes = UnsafeRawBufferPointer(start: decoded, count: length)
    guard !bytes.contains(0) else { return nil }
    return String(validating: bytes, as: UTF8.self)
  }
}
