// swift-tools-version: 6.1
// The libFuzzer targets of twinslot (docs/architecture.md, "Fuzzing"), one executable per target.
//
// Why a package of its own rather than targets in the root Package.swift: every module a fuzz
// target links must be compiled with `-sanitize=fuzzer,address` (coverage for libFuzzer, ASan
// for the findings), and libFuzzer brings its own `main`. Those flags cannot be set per target
// in the root package without `unsafeFlags`, which would make the normal `swift build` (and the
// test suite) instrumented or unbuildable. Here `scripts/fuzz.sh` passes them for the whole build
// (`swift build --package-path Fuzz -c release --sanitize fuzzer --sanitize address`), so the
// product code the targets call is instrumented too, and the root build stays untouched. The
// targets depend on the root package by path and call its public entry points (the ones the CLI
// and the agent call), so a parser swapped behind those entry points is fuzzed the same way.
import PackageDescription

let targets = [
    "fuzz-bundle", "fuzz-swu", "fuzz-swdescription", "fuzz-systemtoml", "fuzz-grubenv", "fuzz-ubootenv",
    "fuzz-journal", "fuzz-ddi",
]

let package = Package(
    name: "twinslot-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "twinslot", path: "..")],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "TwinslotCore", package: "twinslot"),
                .product(name: "TwinslotFleet", package: "twinslot"),
            ])
    ]
        + targets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "TwinslotCore", package: "twinslot"),
                    .product(name: "TwinslotFleet", package: "twinslot"),
                ],
                // libFuzzer's main calls LLVMFuzzerTestOneInput: no Swift top-level code.
                swiftSettings: [.unsafeFlags(["-parse-as-library"])])
        }
)
