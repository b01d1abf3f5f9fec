import Foundation
import XCTest
@testable import WeightFiles

final class NPZReaderTests: XCTestCase {
    func testEveryNPZFixtureMatchesNumpy() throws {
        let reference = try ReaderReference.load("npz")
        XCTAssertEqual(reference.count, 3)
        for (fileName, value) in reference {
            let store = try NPZTensorStore(path: Fixtures.path("npz/\(fileName)"))
            XCTAssertEqual(store.format, .npz)
            try ReaderReference.assertMatches(store, try XCTUnwrap(value as? [String: Any]))
        }
    }

    /// np.savez (stored) and np.savez_compressed (deflated), both with numpy's ZIP64 extra fields.
    func testSavezAndSavezCompressed() throws {
        let stored = try NPZTensorStore(path: Fixtures.path("npz/mlp_np_savez.npz"))
        let deflated = try NPZTensorStore(path: Fixtures.path("npz/mlp_np_savez_compressed.npz"))
        let names = ["dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias", "dense3.weight", "dense3.bias"]
        XCTAssertEqual(stored.tensors.map(\.name), names)
        XCTAssertEqual(deflated.tensors.map(\.name), names)
        XCTAssertEqual(stored.tensors[0].shape, [16, 8])
        XCTAssertEqual(stored.tensors[0].layout, "stored+contiguous")
        XCTAssertEqual(deflated.tensors[0].layout, "deflated+contiguous")
        XCTAssertEqual(stored.tensors[0].layer, "dense1")
        XCTAssertEqual(stored.tensors[0].variable, "weight")
        XCTAssertEqual(stored.tensors[0].orientation, .unknown)
        for n in names { XCTAssertEqual(try stored.loadFloat64(n), try deflated.loadFloat64(n), n) }
    }

    func testNestedNames() throws {
        let store = try NPZTensorStore(path: Fixtures.path("npz/nested_mixed_compressed.npz"))
        let conv = try store.info("block/conv.weight")
        XCTAssertEqual(conv.layer, "block")
        XCTAssertEqual(conv.variable, "conv.weight")
        XCTAssertEqual(conv.layout, "deflated+contiguous+fortran_order")
        XCTAssertEqual(try store.info("counts").role, .buffer)
    }

    func testConcurrentLoads() throws {
        for file in ["npz/mlp_np_savez.npz", "npz/mlp_np_savez_compressed.npz"] {
            let store = try NPZTensorStore(path: Fixtures.path(file))
            let expected = try store.tensors.map { try store.loadFloat64($0.name) }
            let failures = LockedCounter()
            DispatchQueue.concurrentPerform(iterations: 48) { k in
                let t = store.tensors[k % store.tensors.count]
                if (try? store.loadFloat64(t.name)) != expected[k % store.tensors.count] { failures.add() }
            }
            XCTAssertEqual(failures.value, 0, file)
        }
    }

    func testDecompressedSizeLimit() {
        var limits = ReaderLimits()
        limits.maxDecompressedBytes = 1000
        ReaderReference.assertThrows(.limitExceeded, naming: "mlp_np_savez_compressed.npz") {
            _ = try NPZTensorStore(path: Fixtures.path("npz/mlp_np_savez_compressed.npz"), limits: limits)
        }
        limits = ReaderLimits()
        limits.maxMembers = 3
        ReaderReference.assertThrows(.limitExceeded, naming: "mlp_np_savez.npz") {
            _ = try NPZTensorStore(path: Fixtures.path("npz/mlp_np_savez.npz"), limits: limits)
        }
    }

    func testZipBombPassesRatioOnlyWhenAllowed() throws {
        // With a generous ratio the file opens (listing inflates only the header)...
        var limits = ReaderLimits()
        limits.maxCompressionRatio = 100_000
        let store = try NPZTensorStore(path: Fixtures.path("broken/npz-zip-bomb.npz"), limits: limits)
        XCTAssertEqual(store.tensors.map(\.shape), [[1 << 22]])
        // ...and the tensor limit still guards the load.
        limits.maxTensorBytes = 1 << 20
        let capped = try NPZTensorStore(path: Fixtures.path("broken/npz-zip-bomb.npz"), limits: limits)
        ReaderReference.assertThrows(.limitExceeded, naming: "npz-zip-bomb.npz") { _ = try capped.loadFloat32("zeros") }
    }

    func testBrokenNPZFiles() throws {
        try BrokenCorpus.check(prefix: "npz-")
    }

    func testInflateFailuresSayWhat() throws {
        for (file, words) in [("npz-longer-than-declared.npz", "extraction stopped"), ("npz-truncated-deflate.npz", "truncated"),
                              ("npz-crc-mismatch.npz", "CRC-32")] {
            let store = try NPZTensorStore(path: Fixtures.path("broken/\(file)"))
            XCTAssertThrowsError(try ReaderReference.loadAll(store)) {
                XCTAssertTrue(String(describing: $0).contains(words), "\(file): \($0)")
            }
        }
    }

    /// Float32 loads of stored members checksum and copy in one pass: the same values as the
    /// Float64 path, and a bad CRC is caught there too.
    func testFusedFloat32LoadMatchesAndChecksCRC() throws {
        let stored = try NPZTensorStore(path: Fixtures.path("npz/mlp_np_savez.npz"))
        for t in stored.tensors where t.dtype == .float32 {
            XCTAssertEqual(try stored.loadFloat32(t.name).map(Double.init), try stored.loadFloat64(t.name), t.name)
        }
        let broken = try NPZTensorStore(path: Fixtures.path("broken/npz-crc-mismatch.npz"))
        var caught = 0
        for t in broken.tensors {
            let wide = Result { try broken.loadFloat64(t.name) }
            let narrow = Result { try broken.loadFloat32(t.name) }
            switch (wide, narrow) {
            case (.failure, .failure(let e)):
                XCTAssertTrue(String(describing: e).contains("CRC-32"), "\(e)")
                caught += 1
            case (.success, .success): break
            default: XCTFail("\(t.name): the Float32 and Float64 loads disagree on the CRC")
            }
        }
        XCTAssertGreaterThan(caught, 0)
    }

    func testChecksumVerificationCanBeSkipped() throws {
        let store = try NPZTensorStore(path: Fixtures.path("broken/npz-crc-mismatch.npz"), verifyChecksums: false)
        XCTAssertNoThrow(try ReaderReference.loadAll(store))
    }

    func testNotAZipAndMissing() {
        ReaderReference.assertThrows(.malformed, naming: "f32_vec_7.npy") {
            _ = try NPZTensorStore(path: Fixtures.path("npy/f32_vec_7.npy"))
        }
        ReaderReference.assertThrows(.missing, naming: "absent.npz") { _ = try NPZTensorStore(path: Fixtures.path("npz/absent.npz")) }
        ReaderReference.assertThrows(.unreadable, naming: "npz") { _ = try NPZTensorStore(path: Fixtures.path("npz")) }
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
