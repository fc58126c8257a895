import Libevent

/// `:id` of /getEventsByUserId, URL-decoded: 1–64 bytes of `[A-Za-z0-9_.-]`.
enum UserIDValidation {
  static func decode(_ raw: String) -> String? {
    guard let id = raw.percentDecoded, (1...64).contains(id.utf8.count) else { return nil }
    let valid = id.utf8.allSatisfy { byte in
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "-"):
        true
      default: false
      }
    }
    return valid ? id : nil
  }
}
