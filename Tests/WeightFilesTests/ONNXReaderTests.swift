import Foundation
import XCTest
@testable import WeightFiles

/// The ONNX reader against fixtures/onnx/reference.json (fixtures/generate_onnx.py): every
/// initializer and Constant tensor exactly as `onnx.numpy_helper.to_array` returns it.
final class ONNXReaderTests: XCTestCase {
    struct Reference: Decodable {
        struct Tensor: Decodable {
            var name: String
            var shape: [Int]
            var dtype: String
            var hex: String
        }
        struct Model: Decodable {
            var opset: Int
            var tensors: [Tensor]
        }
        var models: [String: Model]
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("onnx/reference.json"))))
    }

    static let numpyDTypes: [String: DType] = [
        "float16": .float16, "bfloat16": .bfloat16, "float32": .float32, "float64": .float64, "int8": .int8, "uint8": .uint8,
        "int16": .int16, "uint16": .uint16, "int32": .int32, "uint32": .uint32, "int64": .int64, "uint64": .uint64, "bool": .bool,
    ]

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testEveryTensorIsBitExactWithOnnxNumpyHelper() throws {
        let ref = try Self.reference()
        XCTAssertEqual(ref.models.count, 8)
        var checked = 0
        for (file, model) in ref.models.sorted(by: { $0.key < $1.key }) {
            let store = try ModelFile.open(Fixtures.path("onnx/" + file))
            XCTAssertEqual(store.format, .onnx, file)
            XCTAssertEqual(store.tensors.map(\.name), model.tensors.map(\.name), file)
            XCTAssertEqual(store.onnxGraph?.opset, Int64(model.opset), file)
            for t in model.tensors {
                let info = try store.info(t.name)
                XCTAssertEqual(info.shape, t.shape, "\(file) \(t.name)")
                XCTAssertEqual(info.dtype, Self.numpyDTypes[t.dtype], "\(file) \(t.name) \(t.dtype)")
                XCTAssertEqual(hex(try store.loadNativeBytes(t.name)), t.hex, "\(file) \(t.name)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 60)
    }

    func testHalfAndBFloat16ValuesConvert() throws {
        let store = try ModelFile.open(Fixtures.path("onnx/dtypes.onnx"))
        for name in ["raw_bfloat16", "typed_bfloat16"] {
            XCTAssertEqual(try store.loadFloat64(name), [1.0, -2.5, 3.140625, 0.0, -0.0, 65280.0], name)
        }
        XCTAssertEqual(try store.loadFloat64("raw_float16"), try store.loadFloat64("typed_float16"))
        XCTAssertEqual(try store.loadFloat64("raw_int64"), try store.loadFloat64("typed_int64"))
        XCTAssertEqual(try store.loadFloat64("scalar_f32"), [2.5])
    }

    func testSubgraphAndConstantNaming() throws {
        let store = try ModelFile.open(Fixtures.path("onnx/if_subgraph.onnx"))
        XCTAssertEqual(Set(store.tensors.map(\.name)), ["choose/then_branch/then_w", "choose/else_branch/else_w"])
        let g = try XCTUnwrap(store.onnxGraph)
        XCTAssertEqual(g.graph.allGraphs.map(\.path).sorted(), ["", "choose/else_branch", "choose/then_branch"])
        let constants = try ModelFile.open(Fixtures.path("onnx/constants_mlp.onnx"))
        XCTAssertEqual(constants.tensors.map(\.name), ["W1", "B1", "W2", "B2"])
        XCTAssertEqual(constants.tensors.map(\.layout), ["raw_data", "typed_field", "typed_field", "typed_field"])
    }

    func testGraphSummary() throws {
        let g = try XCTUnwrap(try ModelFile.open(Fixtures.path("onnx/resnet_op17.onnx")).onnxGraph)
        XCTAssertEqual(g.opset, 17)
        XCTAssertEqual(g.graph.inputs.map(\.name), ["x"])
        XCTAssertEqual(g.graph.inputs[0].shape?.map(\.description), ["batch", "3", "8", "8"])
        XCTAssertEqual(g.graph.opCounts["Conv"], 3)
        XCTAssertEqual(g.graph.opCounts["Reshape"], 1)
        XCTAssertTrue(g.producer.hasPrefix("pytorch"))
    }

    func testDetectionNeverClaimsAnotherFormat() throws {
        let fm = FileManager.default
        let root = Fixtures.path("")
        var seen = 0
        for case let rel as String in fm.enumerator(atPath: root)! {
            let full = root + "/" + rel
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue, !rel.hasPrefix("hostile/onnx-") else { continue }
            guard let prefix = try? ModelFile.readPrefix(full, count: 16) else { continue }
            let isONNX = (rel.hasPrefix("onnx/") || rel.hasPrefix("hostile/fuzz/onnx/") || rel.hasPrefix("recurrent/")) && rel.hasSuffix(".onnx")
            XCTAssertEqual(ONNXFormat.looksLikeModel(prefix), isONNX, rel)
            seen += 1
        }
        XCTAssertGreaterThan(seen, 100)
        // A safetensors header length whose low byte is 0x08, 0x12 … is still safetensors.
        XCTAssertFalse(ONNXFormat.looksLikeModel([0x08, 0x05, 0x12, 0, 0, 0, 0, 0, UInt8(ascii: "{")]))
    }

    func testCaps() throws {
        var limits = ReaderLimits()
        limits.maxONNXNodes = 2
        XCTAssertThrowsError(try ModelFile.open(Fixtures.path("onnx/mlp_op13.onnx"), limits: limits)) { e in
            XCTAssertEqual((e as? WeightFileError)?.kind, .limitExceeded)
        }
        limits = ReaderLimits()
        limits.maxONNXBytes = 100
        XCTAssertThrowsError(try ModelFile.open(Fixtures.path("onnx/mlp_op13.onnx"), limits: limits)) { e in
            XCTAssertEqual((e as? WeightFileError)?.kind, .limitExceeded)
        }
        limits = ReaderLimits()
        limits.maxTensorBytes = 100
        let store = try ModelFile.open(Fixtures.path("onnx/mlp_op13.onnx"), limits: limits)
        XCTAssertThrowsError(try store.loadFloat64("fc2.weight")) { e in
            XCTAssertEqual((e as? WeightFileError)?.kind, .limitExceeded)
        }
    }

    // MARK: - External data

    func externalModel(location: String, length: Int = 8) throws -> Data {
        var t = Onnx_TensorProto()
        t.name = "w"
        t.dataType = 1
        t.dims = [2]
        t.dataLocation = .external
        var l = Onnx_StringStringEntryProto(); l.key = "location"; l.value = location
        var n = Onnx_StringStringEntryProto(); n.key = "length"; n.value = "\(length)"
        t.externalData = [l, n]
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "test"
        m.graph.initializer = [t]
        return try m.serializedBytes()
    }

    func testExternalDataStaysInTheModelsFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-ext-\(UUID().uuidString)")
        let inner = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: inner.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let values: [Float] = [1.5, -2.25]
        let payload = values.withUnsafeBytes { Data($0) }
        try payload.write(to: dir.appendingPathComponent("outside.data"))
        try payload.write(to: inner.appendingPathComponent("sub/w.data"))
        try FileManager.default.createSymbolicLink(atPath: inner.appendingPathComponent("link.data").path,
                                                   withDestinationPath: "../outside.data")
        func open(_ location: String) throws -> any TensorStore {
            let p = inner.appendingPathComponent("m.onnx")
            try externalModel(location: location).write(to: p)
            return try ModelFile.open(p.path)
        }
        XCTAssertEqual(try open("sub/w.data").loadFloat64("w"), [1.5, -2.25])
        XCTAssertEqual(try open("./sub/w.data").loadFloat64("w"), [1.5, -2.25])
        for bad in ["../outside.data", "sub/../../outside.data", dir.appendingPathComponent("outside.data").path, "link.data", "",
                    "sub\\w.data"] {
            XCTAssertThrowsError(try open(bad), bad) { e in
                XCTAssertEqual((e as? WeightFileError)?.kind, .malformed, "\(bad): \(e)")
            }
        }
        XCTAssertThrowsError(try open("absent.data")) { e in XCTAssertEqual((e as? WeightFileError)?.kind, .missing) }
    }
}
