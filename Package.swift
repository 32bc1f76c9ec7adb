// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "twinslot",
    platforms: [.macOS(.v14)],
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
        // Headers only: libcurl is loaded with dlopen when the first transfer starts (shim.h).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "TwinslotCore",
            dependencies: [
                "CArchive", "COpenSSL", "CZstd", "CLinux",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TwinslotFleet",
            dependencies: [
                "TwinslotCore", "CCurl", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TwinslotSim", dependencies: ["TwinslotCore"]),
        .executableTarget(
            name: "twinslot",
            dependencies: [
                "TwinslotCore", "TwinslotFleet", "TwinslotSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TwinslotCoreTests", dependencies: ["TwinslotCore", "TestSupport"]),
        .testTarget(name: "twinslotTests", dependencies: ["TwinslotCore", "TestSupport"]),
        .testTarget(name: "TwinslotFleetTests", dependencies: ["TwinslotFleet", "TwinslotCore", "TestSupport"]),
        .testTarget(name: "TwinslotSimTests", dependencies: ["TwinslotSim", "TwinslotCore", "TestSupport"]),
    ]
)
