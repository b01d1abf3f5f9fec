import Foundation
import XCTest
@testable import WeightFiles

/// fixtures/gguf (fixtures/generate_gguf.py, gguf-py 0.19): every tensor against gguf-py's
/// dequantization, per element, to 1e-6 relative (exactly for the plain types).
final class GGUFReaderTests: XCTestCase {
    struct Reference: Decodable {
        struct Tensor: Decodable {
            var type: String
            var shape: [Int]
            var stored_bytes: Int
            var sum: Double?
            var frobenius: Double?
            var sigma_max: Double?
            var samples: [[Double]]?
            var unsupported: Bool?
        }
        struct File: Decodable {
            var tensors: [String: Tensor]
        }
        var files: [String: File]
    }

    static let reference: Reference = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/reference.json")))
        return try! JSONDecoder().decode(Reference.self, from: data)
    }()

    static let exactTypes: Set<String> = ["F32", "F16", "BF16"]

    /// |ours − ref| ≤ 1e-6 |ref| element by element (exact for plain types; a zero must be zero).
    func assertClose(_ ours: [Double], _ ref: [Double], exact: Bool, _ what: String) {
        XCTAssertEqual(ours.count, ref.count, what)
        var worst = 0.0, at = -1
        for i in 0..<min(ours.count, ref.count) {
            let err = abs(ours[i] - ref[i])
            if exact ? err != 0 : err > 1e-6 * abs(ref[i]) {
                let rel = ref[i] == 0 ? Double.infinity : err / abs(ref[i])
                if rel > worst || at < 0 { worst = rel; at = i }
            }
        }
        XCTAssertEqual(at, -1, "\(what): element \(at) = \(at >= 0 ? ours[at] : 0), gguf-py \(at >= 0 ? ref[at] : 0) (relative \(worst))")
    }

    func testEveryQuantTypeMatchesGGUFPyElementByElement() throws {
        let values = try NPZTensorStore(path: Fixtures.path("gguf/reference_values.npz"))
        let files = Self.reference.files.keys.filter { $0.hasPrefix("quant_") }.sorted()
        XCTAssertEqual(files.count, 14)
        for file in files {
            let store = try ModelFile.open(Fixtures.path("gguf/\(file)"))
            XCTAssertEqual(store.format, .gguf)
            for (name, t) in Self.reference.files[file]!.tensors {
                let info = try store.info(name)
                XCTAssertEqual(info.shape, t.shape, "\(file) \(name)")
                XCTAssertEqual(info.quantization?.scheme ?? info.dtype.rawValue.uppercased(), t.type, "\(file) \(name)")
                if let q = info.quantization { XCTAssertEqual(q.storedBytes, t.stored_bytes) }
                let ref = try values.loadFloat64("\(file)/\(name)")
                let ours = try store.loadFloat64(name)
                assertClose(ours, ref, exact: Self.exactTypes.contains(t.type) || t.type == "Q8_K", "\(file) \(name)")
                // Float32 loads: the Float64 values rounded once.
                let f32 = try store.loadFloat32(name)
                XCTAssertEqual(f32, ours.map { Float($0) }, "\(file) \(name) float32")
                let native = try store.loadNativeBytes(name)
                XCTAssertEqual(native.count, info.byteCount, "\(file) \(name) native bytes")
            }
        }
    }

    func testLlamaFilesShapesMetadataAndSamples() throws {
        for file in ["llama_f32.gguf", "llama_f16.gguf", "llama_q8_0.gguf", "llama_q4_0.gguf", "llama_kmix.gguf"] {
            let store = try XCTUnwrap(try ModelFile.open(Fixtures.path("gguf/\(file)")) as? GGUFTensorStore)
            XCTAssertEqual(store.version, 3)
            XCTAssertEqual(store.alignment, 32)
            XCTAssertEqual(store.architecture, "llama")
            XCTAssertEqual(store.metadata["llama.block_count"]?.intValue, 2)
            XCTAssertEqual(store.metadata["llama.embedding_length"]?.intValue, 256)
            XCTAssertEqual(store.metadata["llama.attention.head_count_kv"]?.intValue, 1)
            XCTAssertEqual(store.metadata["llama.attention.layer_norm_rms_epsilon"]?.doubleValue, Double(Float(1e-5)))
            XCTAssertEqual(store.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count, 32)
            XCTAssertEqual(store.metadata["tokenizer.ggml.tokens"]?.arrayValue?[3].stringValue, "<t3>")
            XCTAssertEqual(store.metadataKeys.first, "general.architecture")
            let ref = Self.reference.files[file]!.tensors
            XCTAssertEqual(Set(store.tensors.map(\.name)), Set(ref.keys))
            for info in store.tensors {
                let t = ref[info.name]!
                XCTAssertEqual(info.shape, t.shape, info.name)
                if info.shape.count == 2 {
                    XCTAssertEqual(info.orientation, info.name == "token_embd.weight" ? .inOut : .outIn, info.name)
                }
                if t.unsupported == true {
                    XCTAssertEqual(info.quantization?.scheme, "IQ4_NL")
                    XCTAssertNotNil(info.quantization?.unsupportedReason)
                    XCTAssertThrowsError(try store.loadFloat64(info.name)) { e in
                        XCTAssertEqual((e as? WeightFileError)?.kind, .unsupported)
                    }
                    continue
                }
                let values = try store.loadFloat64(info.name)
                let exact = Self.exactTypes.contains(t.type)
                for s in t.samples ?? [] {
                    let (i, v) = (Int(s[0]), s[1])
                    if exact { XCTAssertEqual(values[i], v, "\(file) \(info.name)[\(i)]") } else {
                        XCTAssertLessThanOrEqual(abs(values[i] - v), 1e-6 * abs(v), "\(file) \(info.name)[\(i)]")
                    }
                }
                let sum = values.reduce(0, +)
                XCTAssertEqual(sum, t.sum!, accuracy: 1e-6 * max(1, values.reduce(0) { $0 + abs($1) }), "\(file) \(info.name) sum")
                let frob = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
                XCTAssertEqual(frob, t.frobenius!, accuracy: 1e-6 * t.frobenius!, "\(file) \(info.name) frobenius")
            }
        }
    }

    func testPlainF32TensorsAreBitExact() throws {
        let store = try ModelFile.open(Fixtures.path("gguf/llama_f32.gguf"))
        let info = try store.info("blk.0.attn_q.weight")
        XCTAssertEqual(info.dtype, .float32)
        XCTAssertNil(info.quantization)
        XCTAssertEqual(info.layer, "blk.0.attn_q")
        XCTAssertEqual(info.variable, "weight")
        XCTAssertEqual(try store.loadNativeBytes(info.name).count, 32 * 256 * 4)
    }

    /// Version 2 has the same layout as 3 (v3 only allowed big-endian files): the same bytes
    /// with version 2 read identically.
    func testVersion2ReadsLikeVersion3() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/quant_Q4_K.gguf"))))
        XCTAssertEqual(bytes[4], 3)
        bytes[4] = 2
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-v2-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let v2 = try XCTUnwrap(try ModelFile.open(url.path) as? GGUFTensorStore)
        let v3 = try ModelFile.open(Fixtures.path("gguf/quant_Q4_K.gguf"))
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(v2.tensors, v3.tensors)
        XCTAssertEqual(try v2.loadFloat64("a.weight"), try v3.loadFloat64("a.weight"))
    }

    func testMetadataSummariesNeverDumpArrays() {
        let tokens = MetadataValue.array(elementType: .string, (0..<50_000).map { .string("tok\($0)") })
        XCTAssertEqual(tokens.summary, "[string × 50000] \"tok0\", \"tok1\", \"tok2\", …")
        XCTAssertEqual(MetadataValue.float(Double(Float(1e-5)), .f32).summary, "1e-05")
        XCTAssertEqual(MetadataValue.unsigned(32, .u32).intValue, 32)
        XCTAssertNil(MetadataValue.unsigned(UInt64.max, .u64).intValue)
        XCTAssertEqual(MetadataValue.string(String(repeating: "x", count: 200)).summary.count, 83)
    }

    func testStoredBlocksAreTheFileBytes() throws {
        let store = try XCTUnwrap(try ModelFile.open(Fixtures.path("gguf/quant_Q6_K.gguf")) as? GGUFTensorStore)
        let info = try store.info("b.weight")
        let blocks = try store.storedBlocks("b.weight")
        XCTAssertEqual(blocks.count, 1024 / 256 * 210)
        XCTAssertEqual(info.quantization?.storedBytes, blocks.count)
        XCTAssertEqual(info.quantization?.bitsPerElement, 6.5625)
    }

    func testNonDefaultAlignment() throws {
        let store = try XCTUnwrap(try ModelFile.open(Fixtures.path("gguf/align64.gguf")) as? GGUFTensorStore)
        XCTAssertEqual(store.alignment, 64)
        XCTAssertEqual(store.metadata["general.alignment"], .unsigned(64, .u32))
        for (name, t) in Self.reference.files["align64.gguf"]!.tensors {
            let values = try store.loadFloat64(name)
            XCTAssertEqual(try store.info(name).shape, t.shape)
            for s in t.samples! {
                XCTAssertLessThanOrEqual(abs(values[Int(s[0])] - s[1]), t.type == "F16" ? 0 : 1e-6 * abs(s[1]), "\(name)[\(Int(s[0]))]")
            }
            XCTAssertEqual(values.reduce(0, +), t.sum!, accuracy: 1e-9 * max(1, abs(t.sum!)))
        }
    }

    /// A model split by gguf-py into three files lists and loads exactly what the single file does.
    func testSplitModelEqualsTheSingleFile() throws {
        let split = try XCTUnwrap(try ModelFile.open(Fixtures.path("gguf/split/llama_q8_0-00001-of-00003.gguf")) as? GGUFSplitStore)
        let single = try XCTUnwrap(try ModelFile.open(Fixtures.path("gguf/llama_q8_0.gguf")) as? GGUFTensorStore)
        XCTAssertEqual(split.format, .ggufSplit)
        XCTAssertEqual(split.shardPaths.map { ($0 as NSString).lastPathComponent },
                       (1...3).map { "llama_q8_0-0000\($0)-of-00003.gguf" })
        XCTAssertEqual(split.tensors, single.tensors)
        XCTAssertEqual(split.metadata["general.architecture"]?.stringValue, "llama")
        XCTAssertEqual(split.metadata["split.tensors.count"]?.intValue, 21)
        for t in single.tensors {
            XCTAssertEqual(try split.loadFloat64(t.name), try single.loadFloat64(t.name), t.name)
        }
        // A later shard given alone is refused: the model starts at the first.
        XCTAssertThrowsError(try ModelFile.open(Fixtures.path("gguf/split/llama_q8_0-00002-of-00003.gguf"))) { e in
            XCTAssertTrue("\(e)".contains("give the first shard"), "\(e)")
        }
    }
}
