import Foundation
import XCTest
@testable import WeightFiles

/// HDF5 and Keras readers against the inventory `fixtures/generate_models.py` recorded with
/// h5py/safetensors (`fixtures/models/reference.json` → `files`).
final class KerasReaderTests: XCTestCase {
    nonisolated(unsafe) static let inventory: [String: Any] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/reference.json")))
        let json = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return json["files"] as! [String: Any]
    }()

    static let dtypeNames: [String: DType] = [
        "float32": .float32, "float64": .float64, "float16": .float16, "int32": .int32, "int64": .int64,
        "opaque": .bfloat16, "bfloat16": .bfloat16, "uint8": .uint8, "int8": .int8,
    ]

    /// Every tensor h5py or safetensors lists is listed with the same name, shape and dtype.
    func testEveryFixtureListsExactlyWhatTheFrameworksWrote() throws {
        for (file, entry) in Self.inventory.sorted(by: { $0.key < $1.key }) {
            guard !file.hasPrefix("probe") else { continue }
            let expected = ((entry as! [String: Any])["tensors"] as! [[String: Any]])
            let store = try ModelFile.open(Fixtures.path("models/" + file))
            let listed = Dictionary(uniqueKeysWithValues: store.tensors.map { ($0.name, $0) })
            XCTAssertEqual(Set(listed.keys), Set(expected.map { $0["name"] as! String }), file)
            for e in expected {
                let name = e["name"] as! String
                guard let t = listed[name] else { continue }
                XCTAssertEqual(t.shape, e["shape"] as! [Int], "\(file) \(name)")
                if let d = Self.dtypeNames[e["dtype"] as! String] {
                    XCTAssertEqual(t.dtype, d, "\(file) \(name)")
                }
            }
        }
    }

    func testFormatsRolesLayersAndOrientations() throws {
        let h5 = try ModelFile.open(Fixtures.path("models/mlp.h5"))
        XCTAssertEqual(h5.format, .kerasH5)
        XCTAssertNotNil(h5.architectureJSON)
        let kernel = try h5.info("model_weights/d1/mlp/d1/kernel")
        XCTAssertEqual(kernel.role, .weights)
        XCTAssertEqual(kernel.layer, "d1")
        XCTAssertEqual(kernel.variable, "kernel")
        XCTAssertEqual(kernel.orientation, .inOut)
        XCTAssertTrue(h5.tensors.filter { $0.name.hasPrefix("optimizer_weights/") }.allSatisfy { $0.role == .optimizerState })
        XCTAssertGreaterThan(h5.tensors.filter { $0.role == .optimizerState }.count, 0)

        let keras = try ModelFile.open(Fixtures.path("models/mlp.keras"))
        XCTAssertEqual(keras.format, .kerasZip)
        let k3 = try keras.info("layers/dense/vars/0")
        XCTAssertEqual(k3.layer, "d1", "the vars@name attribute names the layer")
        XCTAssertEqual(k3.variable, "kernel")
        XCTAssertEqual(k3.orientation, .inOut)
        XCTAssertEqual(try keras.info("optimizer/vars/0").role, .optimizerState)

        let weightsOnly = try ModelFile.open(Fixtures.path("models/mlp.weights.h5"))
        XCTAssertEqual(weightsOnly.format, .kerasWeightsH5)
        XCTAssertNil(weightsOnly.architectureJSON)
        XCTAssertEqual(try weightsOnly.info("layers/dense/vars/0").variable, "kernel", "named by shape without a config")

        let cnn = try ModelFile.open(Fixtures.path("models/cnn.h5"))
        XCTAssertEqual(try cnn.info("model_weights/conv1/cnn/conv1/kernel").orientation, .convHWIO)
        let dw = try ModelFile.open(Fixtures.path("models/depthwise.h5"))
        XCTAssertEqual(try dw.info("model_weights/dw/depthwise/dw/kernel").orientation, .depthwiseHWIM)
        XCTAssertEqual(try dw.info("model_weights/sep/depthwise/sep/depthwise_kernel").orientation, .depthwiseHWIM)
        XCTAssertEqual(try dw.info("model_weights/sep/depthwise/sep/pointwise_kernel").orientation, .convHWIO)

        let split = try ModelFile.open(Fixtures.path("models/mlp_split_names.h5"))
        XCTAssertEqual(try split.info("model_weights/logits/mlp/logits/kernel").layer, "logits", "layer_names0/1 read as one list")
    }

    /// bfloat16 stored as opaque 2-byte data: decoded exactly (every bf16 is a float32).
    func testBFloat16KerasWeightsDecodeExactly() throws {
        let bf = try ModelFile.open(Fixtures.path("models/mlp_bf16.weights.h5"))
        let t = try bf.info("layers/dense/vars/0")
        XCTAssertEqual(t.dtype, .bfloat16)
        let values = try bf.loadFloat64(t.name)
        let raw = try bf.loadNativeBytes(t.name)
        XCTAssertEqual(raw.count, values.count * 2)
        for (i, v) in values.enumerated() {
            let bits = UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8
            XCTAssertEqual(v, Double(Float(bitPattern: UInt32(bits) << 16)))
        }
        let legacy = try ModelFile.open(Fixtures.path("models/mlp_bf16.h5"))
        XCTAssertEqual(try legacy.loadFloat64("model_weights/d1/mlp_bf16/d1/kernel"), values)
    }

    /// The same network in Keras layout (`[in, out]`) and PyTorch layout (`[out, in]`): the
    /// stored arrays are transposes of each other, exactly.
    func testKerasAndTorchLayoutsHoldTheSameOperators() throws {
        let keras = try ModelFile.open(Fixtures.path("models/mlp.h5"))
        let torch = try ModelFile.open(Fixtures.path("models/mlp_torch.safetensors"))
        for layer in ["d1", "d2", "logits"] {
            let k = try keras.info("model_weights/\(layer)/mlp/\(layer)/kernel")
            let w = try torch.info("\(layer).weight")
            XCTAssertEqual(k.orientation, .inOut)
            XCTAssertEqual(w.orientation, .outIn)
            XCTAssertEqual(k.shape, w.shape.reversed())
            let kv = try keras.loadFloat64(k.name), wv = try torch.loadFloat64(w.name)
            let (fanIn, fanOut) = (k.shape[0], k.shape[1])
            for o in 0..<fanOut {
                for i in 0..<fanIn {
                    XCTAssertEqual(kv[i * fanOut + o], wv[o * fanIn + i], "\(layer)[\(o), \(i)]")
                }
            }
        }
    }

    func testHDF5ErrorsAreOneLineAndNameTheFile() throws {
        XCTAssertThrowsError(try ModelFile.open(Fixtures.path("broken/h5-truncated.h5"))) { error in
            let e = error as! WeightFileError
            XCTAssertEqual(e.kind, .malformed)
            XCTAssertTrue(e.description.contains("h5-truncated.h5"))
            XCTAssertFalse(e.description.contains("\n"))
        }
        XCTAssertThrowsError(try ModelFile.open(Fixtures.path("models/nope.h5"))) { error in
            XCTAssertEqual((error as! WeightFileError).kind, .missing)
        }
    }
}
