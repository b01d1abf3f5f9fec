import Foundation
import XCTest
@testable import HDF5Kit

final class HDF5KitTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5kit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testRoundTripDatasetsOfEveryTypeAndAttributes() throws {
        let p = path("a.h5")
        do {
            let f = try HDF5File.create(path: p)
            let root = try f.root
            let values: [Double] = [1.5, -2.25, 3, 0, 1e-300, -7]
            try values.withUnsafeBytes { _ = try root.createDataset("g/sub/f64", type: .float64, shape: [2, 3], bytes: $0) }
            let floats: [Float] = [1, 2, 3, 4]
            try floats.withUnsafeBytes { _ = try root.createDataset("f32", type: .float32, shape: [4], bytes: $0, chunk: [2], gzipLevel: 4) }
            let halves: [UInt16] = [0x3C00, 0xC000, 0x3555] // 1, -2, 0.33325
            try halves.withUnsafeBytes { _ = try root.createDataset("f16", type: .float16, shape: [3], bytes: $0) }
            let bf: [UInt16] = [0x3F80, 0xC040] // 1, -3
            try bf.withUnsafeBytes { _ = try root.createDataset("bf16", type: .bfloat16, shape: [2], bytes: $0) }
            let ints: [Int64] = [-1, 2, 3]
            try ints.withUnsafeBytes { _ = try root.createDataset("i64", type: .int64, shape: [3], bytes: $0) }
            let scalar: [Double] = [42]
            try scalar.withUnsafeBytes { _ = try root.createDataset("scalar", type: .float64, shape: [], bytes: $0) }
            try root.setAttribute("title", string: "héllo ✓")
            try root.setAttribute("names", strings: ["a", "bb", ""])
            try root.setAttribute("pi", double: 3.141592653589793)
            try root.setAttribute("n", int: -5)
            try root.setAttribute("title", string: "replaced")
            try root.createStringDataset("json", value: "{\"k\": [1, 2]}")
            try f.close()
        }
        let f = try HDF5File.openReadOnly(path: p)
        let root = try f.root
        XCTAssertEqual(try root.links().map(\.name), ["bf16", "f16", "f32", "g", "i64", "json", "scalar"])
        XCTAssertEqual(try root.links().first { $0.name == "g" }?.kind, .group)
        let d = try root.openDataset("g/sub/f64")
        XCTAssertEqual(try d.shape, [2, 3])
        XCTAssertEqual(try d.readDoubles(), [1.5, -2.25, 3, 0, 1e-300, -7])
        XCTAssertEqual(try d.typeInfo.typeClass, .float)
        XCTAssertEqual(try d.storage.layout, "contiguous")
        let f32 = try root.openDataset("f32")
        XCTAssertEqual(try f32.readDoubles(), [1, 2, 3, 4])
        XCTAssertEqual(try f32.storage.summary, "chunked+gzip")
        XCTAssertEqual(try f32.storage.chunk, [2])
        let f16 = try root.openDataset("f16")
        XCTAssertEqual(try f16.typeInfo.mantissaBits, 10)
        XCTAssertEqual(try f16.readDoubles(), [1, -2, 0.333251953125])
        let bf16 = try root.openDataset("bf16")
        XCTAssertEqual(try bf16.typeInfo.mantissaBits, 7)
        XCTAssertEqual(try bf16.readDoubles(), [1, -3])
        XCTAssertEqual(try root.openDataset("i64").readDoubles(), [-1, 2, 3])
        XCTAssertEqual(try root.openDataset("scalar").shape, [])
        XCTAssertEqual(try root.openDataset("scalar").readDoubles(), [42])
        XCTAssertEqual(try root.readStringsAttribute("title"), ["replaced"])
        XCTAssertEqual(try root.readStringsAttribute("names"), ["a", "bb", ""])
        XCTAssertEqual(try root.readDoublesAttribute("pi"), [3.141592653589793])
        XCTAssertEqual(try root.readDoublesAttribute("n"), [-5])
        XCTAssertEqual(Set(try root.attributeNames()), ["title", "names", "pi", "n"])
        XCTAssertEqual(try root.openDataset("json").readStrings(), ["{\"k\": [1, 2]}"])
        XCTAssertTrue(try root.exists("g/sub/f64"))
        XCTAssertFalse(try root.exists("g/nothing/here"))
    }

    func testCopyObjectAndAttributesAreBitIdentical() throws {
        let src = path("src.h5")
        do {
            let f = try HDF5File.create(path: src)
            let root = try f.root
            let v: [Float] = (0..<100).map { Float($0) * 0.5 }
            let d = try v.withUnsafeBytes { try root.createDataset("m/w", type: .float32, shape: [10, 10], bytes: $0, chunk: [5, 5], gzipLevel: 6) }
            try d.setAttribute("unit", string: "volts")
            try root.setAttribute("model_config", string: "{\"x\":1}")
            try f.close()
        }
        let dst = path("dst.h5")
        do {
            let s = try HDF5File.openReadOnly(path: src)
            let out = try HDF5File.create(path: dst)
            let outRoot = try out.root
            try outRoot.copyObject(from: try s.root, name: "m", to: "m")
            try outRoot.copyAttributes(from: try s.root)
            try out.close()
        }
        let a = try HDF5File.openReadOnly(path: src).root
        let b = try HDF5File.openReadOnly(path: dst).root
        XCTAssertEqual(try a.openDataset("m/w").readNativeBytes(), try b.openDataset("m/w").readNativeBytes())
        XCTAssertEqual(try b.openDataset("m/w").storage.summary, "chunked+gzip")
        XCTAssertEqual(try b.openDataset("m/w").readStringsAttribute("unit"), ["volts"])
        XCTAssertEqual(try b.readStringsAttribute("model_config"), ["{\"x\":1}"])
    }

    func testInMemoryImageOpensWithoutTouchingDisk() throws {
        let p = path("img.h5")
        do {
            let f = try HDF5File.create(path: p)
            let v: [Double] = [1, 2]
            try v.withUnsafeBytes { _ = try f.root.createDataset("x", type: .float64, shape: [2], bytes: $0) }
            try f.close()
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        try FileManager.default.removeItem(atPath: p)
        let f = try HDF5File.openImage(bytes, name: "memory.h5")
        XCTAssertEqual(try f.root.openDataset("x").readDoubles(), [1, 2])
    }

    func testErrorsCarryTheHDF5StackAndNeverPrint() throws {
        let p = path("not.h5")
        try Data("definitely not hdf5".utf8).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try HDF5File.openReadOnly(path: p)) { error in
            guard let e = error as? HDF5Error else { return XCTFail("wrong error \(error)") }
            XCTAssertEqual(e.operation, "H5Fopen")
            XCTAssertEqual(e.target, p)
            XCTAssertFalse(e.stack.isEmpty)
        }
        let f = try HDF5File.create(path: path("e.h5"))
        XCTAssertThrowsError(try f.root.openDataset("missing")) { error in
            XCTAssertEqual((error as? HDF5Error)?.operation, "H5Dopen2")
        }
    }

    func testCreateRefusesExistingFile() throws {
        let p = path("exists.h5")
        _ = try HDF5File.create(path: p)
        XCTAssertThrowsError(try HDF5File.create(path: p))
    }

    func testSignature() {
        XCTAssertTrue(HDF5File.hasSignature([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A, 0]))
        XCTAssertFalse(HDF5File.hasSignature(Array("PK\u{3}\u{4}abcd".utf8)))
    }
}
