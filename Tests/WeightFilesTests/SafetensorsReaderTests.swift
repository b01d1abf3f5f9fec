import Foundation
import XCTest
@testable import WeightFiles

final class SafetensorsReaderTests: XCTestCase {
    func testEverySafetensorsFixtureMatchesReference() throws {
        let reference = try ReaderReference.load("safetensors")
        XCTAssertEqual(reference.count, 5)
        for (fileName, value) in reference {
            let p = Fixtures.path("safetensors/\(fileName)")
            let store: TensorStore = fileName.hasSuffix(".index.json")
                ? try SafetensorsShardedStore(indexPath: p) : try SafetensorsTensorStore(path: p)
            try ReaderReference.assertMatches(store, try XCTUnwrap(value as? [String: Any]))
        }
    }

    func testPyTorchOrientationAndRoles() throws {
        let store = try SafetensorsTensorStore(path: Fixtures.path("safetensors/mixed_pt.safetensors"))
        XCTAssertEqual(store.metadata, ["format": "pt"])
        func info(_ n: String) throws -> TensorInfo { try store.info(n) }
        XCTAssertEqual(try info("features.0.weight").orientation, .convOIHW)
        XCTAssertEqual(try info("conv1d.weight").orientation, .convOIHW)
        XCTAssertEqual(try info("lm_head.weight").orientation, .outIn)
        XCTAssertEqual(try info("h.0.attn.c_attn.weight").orientation, .inOut)
        XCTAssertEqual(try info("h.0.mlp.c_fc.weight").orientation, .inOut)
        XCTAssertEqual(try info("h.0.mlp.c_proj.weight").orientation, .inOut)
        XCTAssertEqual(try info("features.0.bias").orientation, .unknown)
        XCTAssertEqual(try info("features.1.weight").orientation, .unknown)  // 1-D BatchNorm gamma
        XCTAssertEqual(try info("features.1.num_batches_tracked").role, .buffer)
        XCTAssertEqual(try info("position_ids").role, .buffer)
        XCTAssertEqual(try info("mask").role, .buffer)
        XCTAssertEqual(try info("features.1.running_mean").role, .weights)
        XCTAssertEqual(try info("features.1.running_var").role, .weights)
        XCTAssertEqual(try info("features.1.running_var").layer, "features.1")
        XCTAssertEqual(try info("features.1.running_var").variable, "running_var")
        XCTAssertEqual(try info("mask").layer, nil)
        XCTAssertEqual(try info("mask").variable, "mask")
        XCTAssertEqual(try info("h.0.mlp.c_fc.weight").byteOrder, .little)
        XCTAssertEqual(try info("tokens_u8").byteOrder, .notApplicable)
        // Without "format": "pt" the Conv1D heuristic does not fire.
        let plain = try SafetensorsTensorStore(path: Fixtures.path("safetensors/conv1d_no_metadata.safetensors"))
        XCTAssertEqual(plain.tensors[0].orientation, .outIn)
    }

    func testTensorsInDataOrder() throws {
        let store = try SafetensorsTensorStore(path: Fixtures.path("safetensors/mlp_bf16.safetensors"))
        XCTAssertEqual(store.tensors.map(\.name),
                       ["dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias", "dense3.weight", "dense3.bias"])
        XCTAssertEqual(store.tensors.map(\.dtype), Array(repeating: .bfloat16, count: 6))
    }

    func testSharded() throws {
        let store = try SafetensorsShardedStore(indexPath: Fixtures.path("safetensors/sharded/model.safetensors.index.json"))
        XCTAssertEqual(store.format, .safetensorsSharded)
        XCTAssertEqual(store.shardNames, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(store.tensors.count, 6)
        XCTAssertEqual(try store.info("dense3.weight").orientation, .outIn)
        guard case .object(let meta)? = store.indexMetadata else { return XCTFail("index metadata") }
        XCTAssertEqual(meta["total_size"]?.nonNegativeInt, (16 * 8 + 16 + 16 * 16 + 16 + 4 * 16 + 4) * 4)
        let single = try SafetensorsTensorStore(path: Fixtures.path("safetensors/mlp_f32.safetensors"))
        for t in single.tensors { XCTAssertEqual(try store.loadFloat32(t.name), try single.loadFloat32(t.name)) }
    }

    func testShardNamesMustStayInFolder() {
        for bad in ["../x.safetensors", "/etc/passwd", "sub/x.safetensors", "..", "", "a\\b"] {
            ReaderReference.assertThrows(.malformed, naming: "index.json") {
                try SafetensorsShardedStore.checkShardName(bad, tensor: "t", indexPath: "index.json")
            }
        }
        XCTAssertNoThrow(try SafetensorsShardedStore.checkShardName("model-00001-of-00002.safetensors", tensor: "t",
                                                                    indexPath: "index.json"))
    }

    func testConcurrentLoads() throws {
        let store = try SafetensorsTensorStore(path: Fixtures.path("safetensors/mixed_pt.safetensors"))
        let expected = try store.tensors.map { try store.loadNativeBytes($0.name) }
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 64) { k in
            let i = k % store.tensors.count
            if (try? store.loadNativeBytes(store.tensors[i].name)) != expected[i] { failures.add() }
        }
        XCTAssertEqual(failures.value, 0)
    }

    func testBrokenSafetensorsFiles() throws {
        try BrokenCorpus.check(prefix: "st-")
    }

    func testMissingAndDirectory() {
        ReaderReference.assertThrows(.missing, naming: "absent.safetensors") {
            _ = try SafetensorsTensorStore(path: Fixtures.path("safetensors/absent.safetensors"))
        }
        ReaderReference.assertThrows(.unreadable, naming: "sharded") {
            _ = try SafetensorsTensorStore(path: Fixtures.path("safetensors/sharded"))
        }
        ReaderReference.assertThrows(.missing, naming: "absent.index.json") {
            _ = try SafetensorsShardedStore(indexPath: Fixtures.path("safetensors/absent.index.json"))
        }
    }

    func testHeaderLimit() {
        var limits = ReaderLimits()
        limits.maxHeaderBytes = 64
        ReaderReference.assertThrows(.limitExceeded, naming: "mlp_f32.safetensors") {
            _ = try SafetensorsTensorStore(path: Fixtures.path("safetensors/mlp_f32.safetensors"), limits: limits)
        }
    }
}

final class SafetensorsJSONTests: XCTestCase {
    private func parse(_ s: String, depth: Int = 256) throws -> JSONValue {
        try JSONValue.parse(Array(s.utf8), maxDepth: depth)
    }

    func testExactIntegersAndOrder() throws {
        let v = try parse(#" {"b": [0, 18446744073709551615, 9223372036854775807, 1.0, -1, true], "a": "x\u00e9\ud83d\ude00\n"} "#)
        guard case .object(let o) = v, case .array(let a)? = o["b"] else { return XCTFail() }
        XCTAssertEqual(o.keys, ["b", "a"])
        XCTAssertEqual(a.map(\.nonNegativeInt), [0, nil, Int.max, nil, nil, nil])
        XCTAssertEqual(o["a"]?.stringValue, "xé😀\n")
    }

    func testRefusals() {
        for bad in [#"{"a":1,"a":2}"#, "[1,]", "{\"a\" 1}", "01", "[1] x", "\"\u{01}\"", #""\ud800""#, "nul", "[", "-", "1.",
                    #""\x""#, ""] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
        XCTAssertThrowsError(try parse("[[[]]]", depth: 2)) { XCTAssertTrue(($0 as? JSONParseError)?.depthExceeded == true) }
        XCTAssertNoThrow(try parse("[[[]]]", depth: 3))
    }

    func testDepthScan() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 10_000) + Array(repeating: UInt8(ascii: "]"), count: 10_000)
        XCTAssertNil(JSONLimits.depth(of: deep, limit: 256))
        XCTAssertEqual(JSONLimits.depth(of: Array(#"{"a": "[[[[", "b": [[1]]}"#.utf8), limit: 256), 3)
    }
}
