// swift-tools-version:6.2
// Linux only: the code imports Glibc and links libevent and mimalloc from the
// system (Debian/Ubuntu: libevent-dev, libmimalloc-dev). Swift 6.2 or later.
import PackageDescription

let package = Package(
  name: "event-service",
  products: [
    .executable(name: "event-service", targets: ["event-service"]),
    .executable(name: "event-mock", targets: ["event-mock"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibevent",
      pkgConfig: "libevent",
      providers: [.apt(["libevent-dev"])]
    ),
    // Linked into event-service only: about a fifth fewer instructions per
    // request than glibc's malloc, whose per-size caches overflow on
    // libevent's many small allocations (docs/performance.md).
    .systemLibrary(
      name: "CMimalloc",
      providers: [.apt(["libmimalloc-dev"])]
    ),
    // hiredis's async API, for the idempotency keys in Redis. No pkgConfig:
    // hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses with a
    // warning; the headers are in the standard include path.
    .systemLibrary(
      name: "CHiredis",
      providers: [.apt(["libhiredis-dev"])]
    ),
    // C shims that need libevent's struct layouts, kept out of CLibevent's
    // module (there they would turn every handle into a typed pointer), and
    // hiredis's libevent adapter.
    .target(
      name: "CLibeventShims", dependencies: ["CLibevent", "CHiredis"],
      linkerSettings: [.linkedLibrary("hiredis")]),
    .target(
      name: "Libevent",
      dependencies: [
        "CLibevent", "CLibeventShims", "CHiredis",
        .product(name: "DequeModule", package: "swift-collections"),
      ]
    ),
    .target(name: "Resilience"),
    .target(name: "MiniJSON"),
    .target(
      name: "MockUpstream",
      dependencies: ["Libevent", "MiniJSON"]
    ),
    // What the service tells its operators: log lines and their sink, the
    // metrics, and the names both use (routes, outcomes, breakers).
    .target(
      name: "Telemetry",
      dependencies: [
        "Libevent", "Resilience", "MiniJSON",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ]
    ),
    // Every key of config.json, read and validated in one place.
    .target(
      name: "Settings",
      dependencies: [
        "Libevent", "Resilience", "MiniJSON", "Telemetry",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // The service's only way to the event API: a fetch machine per GET over
    // an HTTP transport, coalescing, kept answers; results classified once.
    .target(
      name: "UpstreamAccess",
      dependencies: [
        "Libevent", "Resilience", "MiniJSON", "Telemetry",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Where idempotency keys live: this instance's memory or Redis, behind
    // one protocol.
    .target(
      name: "IdempotencyKeys",
      dependencies: ["Libevent", "Resilience"]
    ),
    // The routes and their handlers, and what runs on the loop for them.
    .target(
      name: "EventService",
      dependencies: [
        "Libevent", "Resilience", "MiniJSON", "Settings", "Telemetry", "UpstreamAccess",
        "IdempotencyKeys", .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // The composition root: the service and the embedded mock on one loop,
    // and the config file's MOCK section. Neither of them imports the other.
    .target(
      name: "ServiceAssembly",
      dependencies: [
        "EventService", "MockUpstream", "Libevent", "MiniJSON", "Settings", "Telemetry",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .executableTarget(
      name: "event-service",
      dependencies: [
        "ServiceAssembly", "EventService", "Libevent", "CMimalloc", "MiniJSON", "Settings",
        "Telemetry",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(
      name: "event-mock",
      dependencies: [
        "MockUpstream", "Libevent",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(name: "json-fuzz", dependencies: ["MiniJSON"]),
    .testTarget(name: "LibeventTests", dependencies: ["Libevent"]),
    .testTarget(name: "ResilienceTests", dependencies: ["Resilience"]),
    .testTarget(name: "MiniJSONTests", dependencies: ["MiniJSON"]),
    .testTarget(
      name: "EventServiceTests",
      dependencies: [
        "ServiceAssembly", "EventService", "MockUpstream", "Libevent", "MiniJSON", "Resilience",
        "Settings", "Telemetry", "UpstreamAccess", "IdempotencyKeys",
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
  ]
)
