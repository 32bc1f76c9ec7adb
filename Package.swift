// swift-tools-version: 6.1
import PackageDescription

/// Test-only hooks (a journal callback the kill tests stop the binary with) exist in debug
/// builds only: the release binary that ships never contains them (scripts/check-release-hooks.sh).
let testHooks: [SwiftSetting] = [.define("TWINSLOT_TEST_HOOKS", .when(configuration: .debug))]

let package = Package(
    name: "twinslot",
    products: [
        .executable(name: "twinslot", targets: ["twinslot"]),
        .library(name: "TwinslotCore", targets: ["TwinslotCore"]),
        // For the fuzz package (Fuzz/Package.swift), whose DDI target decodes the agent's documents.
        .library(name: "TwinslotFleet", targets: ["TwinslotFleet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // sw-description is read by the parser SWUpdate itself uses (docs/swupdate.md).
        .systemLibrary(name: "CLibConfig", pkgConfig: "libconfig", providers: [.apt(["libconfig-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Headers only: libcurl is loaded with dlopen when the first transfer starts (shim.h).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "TwinslotCore",
            dependencies: [
                "CArchive", "COpenSSL", "CZstd", "CLinux", "CLibConfig", "CXXHash", "CZlib",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: testHooks
        ),
        .target(
            name: "TwinslotFleet",
            dependencies: [
                "TwinslotCore", "CCurl", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TwinslotSim", dependencies: ["TwinslotCore"]),
        // The D-Bus service (`twinslot service`): sd-bus from CSystemd, the installer from Core.
        .target(name: "TwinslotService", dependencies: ["TwinslotCore", "TwinslotFleet", "CSystemd"]),
        // The journald log handler: its own module so its field mapping is tested without the CLI.
        .target(name: "TwinslotLog", dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "twinslot",
            dependencies: [
                "TwinslotCore", "TwinslotFleet", "TwinslotSim", "TwinslotService", "TwinslotLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: testHooks
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TwinslotCoreTests", dependencies: ["TwinslotCore", "TestSupport"]),
        .testTarget(
            name: "twinslotTests", dependencies: ["twinslot", "TwinslotCore", "TwinslotService", "TestSupport"]),
        .testTarget(name: "TwinslotFleetTests", dependencies: ["TwinslotFleet", "TwinslotCore", "TestSupport"]),
        .testTarget(
            name: "TwinslotLogTests",
            dependencies: ["TwinslotLog", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TwinslotSimTests", dependencies: ["TwinslotSim", "TwinslotCore", "TestSupport"]),
    ]
)
