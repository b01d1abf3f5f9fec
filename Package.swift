// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "spectral-audit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "spectral-audit", targets: ["spectral-audit"]),
        .library(name: "SpectralAuditKit", targets: ["WeightFiles", "LinearAlgebra", "SpectralModel", "ModelBuilder", "Audit", "AuditReport", "ReportWriters"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        // ONNX protobuf decoding (generated code committed: tools/onnx/generate.sh).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries: each shim holds only what Swift cannot import.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CLAPACK", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CMalloc"),

        // The only importer of CHDF5.
        .target(name: "HDF5Kit", dependencies: ["CHDF5"]),
        // `Orientation`: how a stored array maps to an operator (readers declare it, graphs carry it).
        .target(name: "TensorLayout"),
        // The only importer of CLAPACK.
        .target(name: "LinearAlgebra", dependencies: ["CLAPACK"]),
        // Readers: format only, nothing about networks.
        .target(name: "WeightFiles", dependencies: [
            "HDF5Kit", "CCrypto", "CDeflate", "TensorLayout",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // Operators, gates, operator product, forward/backward passes.
        .target(name: "SpectralModel", dependencies: ["LinearAlgebra", "TensorLayout"]),
        // Architecture sources: file tensors + Keras config / manifest / names / ONNX / GGUF → NetworkGraph.
        .target(name: "ModelBuilder", dependencies: ["SpectralModel", "WeightFiles"]),
        // The versioned report contract: no dependencies.
        .target(name: "AuditReport"),
        // Metrics of SPEC.md, bounds, GMSI, policy, checks.
        .target(name: "Audit", dependencies: ["SpectralModel", "ModelBuilder", "LinearAlgebra", "WeightFiles", "AuditReport"]),
        // Text, JSON, JUnit, Markdown, GitHub, HTML, annotated HDF5.
        .target(name: "ReportWriters", dependencies: ["AuditReport", "HDF5Kit", "WeightFiles",
                                                 .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        // posix_spawn + waitpid for crash isolation (the HDF5 preflight, the hdf5 fuzz target).
        .target(name: "ChildProcesses"),
        .executableTarget(name: "spectral-audit", dependencies: [
            "Audit", "AuditReport", "ReportWriters", "WeightFiles", "CMalloc", "ChildProcesses", "LinearAlgebra", "ModelBuilder",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Fixture readers shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit"]),
        .testTarget(name: "ChildProcessesTests", dependencies: ["ChildProcesses"]),
        .testTarget(name: "WeightFilesTests", dependencies: ["WeightFiles", "HDF5Kit"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra", "TestSupport"]),
        .testTarget(name: "SpectralModelTests", dependencies: ["SpectralModel", "ModelBuilder", "LinearAlgebra", "WeightFiles", "TestSupport"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "ModelBuilder", "LinearAlgebra", "SpectralModel", "WeightFiles", "TestSupport"]),
        // Benchmark of the spectral paths (`make bench`; never a unit test).
        .executableTarget(name: "spectral-bench", dependencies: ["LinearAlgebra", "Audit"]),
        // Runs the built binary on fixtures (exit codes, outputs, golden reports, man pages).
        .testTarget(name: "EndToEndTests", dependencies: ["spectral-audit", "AuditReport", "HDF5Kit", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "ReportWritersTests", dependencies: ["ReportWriters", "AuditReport"], exclude: ["Golden"]),
        .testTarget(name: "RepairTests", dependencies: ["Audit", "ReportWriters", "WeightFiles", "SpectralModel", "LinearAlgebra", "HDF5Kit", "AuditReport",
                                                   .product(name: "ZIPFoundation", package: "ZIPFoundation")]),

        // Fuzz targets (`make fuzz`; fixtures/README-hostile.md). A plain build links
        // `spectral-fuzz` as a corpus-replay tool; `-D FUZZING -sanitize=fuzzer,address` into
        // `.build-fuzz` makes it a libFuzzer binary. FuzzDriver only declares LLVMFuzzerRunDriver.
        .target(name: "FuzzDriver"),
        .executableTarget(name: "spectral-fuzz", dependencies: [
            "FuzzDriver", "WeightFiles", "HDF5Kit", "SpectralModel", "ModelBuilder", "Audit", "ChildProcesses", "ReportWriters",
        ], path: "Sources/FuzzTargets"),
    ]
)
