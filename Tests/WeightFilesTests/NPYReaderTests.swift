import Foundation
import XCTest
@testable import WeightFiles

/// Reference values written by fixtures/generate_readers.py, and the checks every reader's
/// tests share.
enum ReaderReference {
    /// `reference.json` of one fixture folder: file → tensor name → entry.
    static func load(_ folder: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("\(folder)/reference.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func hex64(_ d: Double) -> String { pad(String(d.bitPattern, radix: 16), 16) }
    static func hex32(_ f: Float) -> String { pad(String(f.bitPattern, radix: 16), 8) }
    static func hexBytes(_ b: [UInt8]) -> String { b.map { pad(String($0, radix: 16), 2) }.joined() }
    private static func pad(_ s: String, _ n: Int) -> String { String(repeating: "0", count: max(0, n - s.count)) + s }

    /// Every tensor of `store` equals the reference bit for bit, in all three load forms.
    static func assertMatches(_ store: TensorStore, _ reference: [String: Any],
                              file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(Set(store.tensors.map(\.name)), Set(reference.keys), "tensor names", file: file, line: line)
        for info in store.tensors {
            let r = try XCTUnwrap(reference[info.name] as? [String: Any], info.name, file: file, line: line)
            let ctx = "\(store.path): \(info.name)"
            XCTAssertEqual(info.shape, r["shape"] as? [Int], ctx, file: file, line: line)
            XCTAssertEqual(info.dtype.rawValue, r["dtype"] as? String, ctx, file: file, line: line)
            XCTAssertEqual(info.byteOrder.rawValue, r["byte_order"] as? String, ctx, file: file, line: line)
            let f64 = try store.loadFloat64(info.name).map(hex64)
            XCTAssertEqual(f64, r["f64_bits"] as? [String], "\(ctx) float64", file: file, line: line)
            let f32 = try store.loadFloat32(info.name).map(hex32)
            XCTAssertEqual(f32, r["f32_bits"] as? [String], "\(ctx) float32", file: file, line: line)
            let native = try store.loadNativeBytes(info.name)
            XCTAssertEqual(native.count, info.byteCount, ctx, file: file, line: line)
            XCTAssertEqual(hexBytes(native), r["native_hex"] as? String, "\(ctx) native bytes", file: file, line: line)
        }
    }

    /// `body` throws a `WeightFileError` of `kind` whose one-line description names the file.
    static func assertThrows(_ kind: WeightFileError.Kind, naming fileName: String, file: StaticString = #filePath,
                             line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("\(fileName): expected a \(kind) error, nothing thrown", file: file, line: line)
        } catch let e as WeightFileError {
            XCTAssertEqual(e.kind, kind, "\(fileName): \(e.description)", file: file, line: line)
            XCTAssertTrue(e.description.contains(fileName), e.description, file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), e.description, file: file, line: line)
        } catch {
            XCTFail("\(fileName): expected WeightFileError, got \(error)", file: file, line: line)
        }
    }

    static func loadAll(_ store: TensorStore) throws {
        for t in store.tensors { _ = try store.loadFloat64(t.name) }
    }
}

final class NPYReaderTests: XCTestCase {
    func testEveryNPYFixtureMatchesNumpy() throws {
        let reference = try ReaderReference.load("npy")
        XCTAssertGreaterThanOrEqual(reference.count, 20)
        for (fileName, value) in reference.sorted(by: { $0.key < $1.key }) {
            let entry = try XCTUnwrap(value as? [String: Any])
            let store = try NPYTensorStore(path: Fixtures.path("npy/\(fileName)"))
            XCTAssertEqual(store.format, .npy)
            let stem = String(fileName.dropLast(4))
            XCTAssertEqual(store.tensors.map(\.name), [stem])
            try ReaderReference.assertMatches(store, [stem: entry])
            XCTAssertEqual(store.header.fortranOrder, entry["fortran_order"] as? Bool, fileName)
        }
    }

    func testVersionsAndLayout() throws {
        XCTAssertEqual(try NPYTensorStore(path: Fixtures.path("npy/f32_2x3_v1.npy")).header.major, 1)
        XCTAssertEqual(try NPYTensorStore(path: Fixtures.path("npy/f64_3x4_v2.npy")).header.major, 2)
        XCTAssertEqual(try NPYTensorStore(path: Fixtures.path("npy/f32_4x2_v3.npy")).header.major, 3)
        let f = try NPYTensorStore(path: Fixtures.path("npy/f32_fortran_3x4.npy"))
        XCTAssertEqual(f.tensors[0].layout, "contiguous+fortran_order")
        let scalar = try NPYTensorStore(path: Fixtures.path("npy/f64_scalar_0d.npy"))
        XCTAssertEqual(scalar.tensors[0].shape, [])
        XCTAssertEqual(try scalar.loadFloat64("f64_scalar_0d"), [3.25])
        XCTAssertEqual(try NPYTensorStore(path: Fixtures.path("npy/int_i64.npy")).tensors[0].role, .buffer)
        XCTAssertEqual(try NPYTensorStore(path: Fixtures.path("npy/f32_vec_7.npy")).tensors[0].role, .weights)
    }

    private func header(_ dict: String, version: UInt8 = 1, data: Int = 0) -> [UInt8] {
        var h = Array(dict.utf8)
        let prelude = version == 1 ? 10 : 12
        while (prelude + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        if version == 1 {
            out += [UInt8(h.count & 0xFF), UInt8(h.count >> 8)]
        } else {
            out += [UInt8(h.count & 0xFF), UInt8(h.count >> 8), 0, 0]
        }
        return out + h + [UInt8](repeating: 0, count: data)
    }

    private func parse(_ dict: String, limits: ReaderLimits = ReaderLimits()) throws -> NPYHeader {
        try header(dict).withUnsafeBytes { try NPYHeader.parse(bytes: $0, path: "mem.npy", limits: limits) }
    }

    func testHeaderSyntaxAccepted() throws {
        let dictA = "{'shape': (3, 4), 'fortran_order': True, 'descr': '>f8'}"
        let a = try parse(dictA)
        XCTAssertEqual(a.shape, [3, 4])
        XCTAssertEqual(a.dtype, .float64)
        XCTAssertEqual(a.byteOrder, .big)
        XCTAssertTrue(a.fortranOrder)
        XCTAssertEqual(a.dataOffset, header(dictA).count)
        XCTAssertEqual(a.dataByteCount, 96)
        let b = try parse("{\"descr\": \"|u1\",\n 'fortran_order': False, 'shape': (5,),}")
        XCTAssertEqual(b.shape, [5])
        XCTAssertEqual(b.byteOrder, .notApplicable)
        XCTAssertEqual(try parse("{'descr': '<f4', 'fortran_order': False, 'shape': (), }").shape, [])
        XCTAssertEqual(try parse("{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L), }").shape, [2, 3])
        XCTAssertEqual(try parse("{'descr': '|b1', 'fortran_order': False, 'shape': ( 2 , 3 , ), }").dtype, .bool)
    }

    func testHeaderSyntaxRefused() {
        let cases: [(String, WeightFileError.Kind)] = [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", .malformed),  // an int, not a tuple
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", .malformed),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", .malformed),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", .malformed),
            ("{'descr': 'f4', 'fortran_order': False, 'shape': (3,), }", .malformed),  // no byte order
            ("{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }", .malformed),
            ("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", .unsupported),
            ("{'descr': '<U4', 'fortran_order': False, 'shape': (3,), }", .unsupported),
            ("{'descr': '<f16', 'fortran_order': False, 'shape': (3,), }", .unsupported),
            ("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", .unsupported),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", .malformed),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } x", .malformed),
            ("{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }", .malformed),
        ]
        for (dict, kind) in cases {
            ReaderReference.assertThrows(kind, naming: "mem.npy") { _ = try parse(dict) }
        }
        var tight = ReaderLimits()
        tight.maxRank = 2
        ReaderReference.assertThrows(.limitExceeded, naming: "mem.npy") {
            _ = try parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }", limits: tight)
        }
        tight = ReaderLimits()
        tight.maxHeaderBytes = 32
        ReaderReference.assertThrows(.limitExceeded, naming: "mem.npy") {
            _ = try parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", limits: tight)
        }
    }

    func testPickleMessageSaysWhy() throws {
        do {
            _ = try NPYTensorStore(path: Fixtures.path("broken/npy-pickled-object.npy"))
            XCTFail("object array accepted")
        } catch let e as WeightFileError {
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertTrue(e.description.contains("pickled object arrays are refused"), e.description)
        }
    }

    func testBrokenNPYFiles() throws {
        try BrokenCorpus.check(prefix: "npy-")
    }

    func testTensorSizeLimitAppliesOnLoad() throws {
        var limits = ReaderLimits()
        limits.maxTensorBytes = 8
        let store = try NPYTensorStore(path: Fixtures.path("npy/f32_2x3_v1.npy"), limits: limits)
        ReaderReference.assertThrows(.limitExceeded, naming: "f32_2x3_v1.npy") { _ = try store.loadFloat64("f32_2x3_v1") }
        ReaderReference.assertThrows(.malformed, naming: "f32_2x3_v1.npy") { _ = try store.loadFloat64("nope") }
    }

    func testMissingAndDirectory() {
        ReaderReference.assertThrows(.missing, naming: "absent.npy") {
            _ = try NPYTensorStore(path: Fixtures.path("npy/absent.npy"))
        }
        ReaderReference.assertThrows(.missing, naming: "absent.npy") {
            _ = try NPYTensorStore(path: Fixtures.path("npy/f32_vec_7.npy/absent.npy"))
        }
        ReaderReference.assertThrows(.unreadable, naming: "npy") { _ = try NPYTensorStore(path: Fixtures.path("npy")) }
    }

    func testPermissionDenied() throws {
        try XCTSkipIf(getuid() == 0, "root reads files whatever their mode")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npy-perm-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = dir.appendingPathComponent("locked.npy").path
        try FileManager.default.copyItem(atPath: Fixtures.path("npy/f32_vec_7.npy"), toPath: p)
        chmod(p, 0)
        ReaderReference.assertThrows(.unreadable, naming: "locked.npy") { _ = try NPYTensorStore(path: p) }
    }
}

/// The broken corpus: every file throws the kind `broken/expected-readers.json` says, at open
/// or, for stage "load", when its tensors are loaded.
enum BrokenCorpus {
    static func check(prefix: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("broken/expected-readers.json")))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: String]])
        let mine = expected.filter { $0.key.hasPrefix(prefix) }
        XCTAssertFalse(mine.isEmpty, "no broken files for \(prefix)", file: file, line: line)
        for (name, e) in mine.sorted(by: { $0.key < $1.key }) {
            let kind = try XCTUnwrap(WeightFileError.Kind(rawValue: e["kind"] ?? ""), name)
            let path = Fixtures.path("broken/\(name)")
            var limits = ReaderLimits()
            if name == "npz-zip-bomb.npz" { limits.maxCompressionRatio = 100 }
            let open: () throws -> TensorStore = {
                if name.hasSuffix(".index.json") { return try SafetensorsShardedStore(indexPath: path, limits: limits) }
                if name.hasPrefix("npy-") { return try NPYTensorStore(path: path, limits: limits) }
                if name.hasPrefix("npz-") { return try NPZTensorStore(path: path, limits: limits) }
                return try SafetensorsTensorStore(path: path, limits: limits)
            }
            let fileName = name.hasSuffix(".index.json") && kind == .missing ? "no-such-shard.safetensors" : name
            if e["stage"] == "load" {
                let store = try open()
                ReaderReference.assertThrows(kind, naming: fileName, file: file, line: line) { try ReaderReference.loadAll(store) }
            } else {
                ReaderReference.assertThrows(kind, naming: fileName, file: file, line: line) { _ = try open() }
            }
        }
    }
}
