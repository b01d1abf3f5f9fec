import Audit
import AuditReport
import Foundation
import LinearAlgebra
import TestSupport
import WeightFiles
import XCTest

/// A Llama written by `transformers` and converted to GGUF with llama.cpp's names, metadata and
/// rotary Q/K row permutation (`fixtures/generate_gguf_transformer.py`): the structure comes from
/// the GGUF metadata, and per-head spectra equal numpy's — on the Hugging Face weights for the F32
/// file (the permutation leaves them unchanged), on gguf-py's dequantized weights for F16 / Q8_0.
final class GGUFTransformerTests: XCTestCase {
    static let root = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("gguf_transformer")

    struct Reference: Decodable {
        struct Head: Decodable { var layer: Int; var head: Int; var qk: [Double]; var ov: [Double] }
        struct File: Decodable { var spectra: [Head]; var types: [String: String] }
        struct Meta: Decodable { var head_dim: Int; var embedding_length: Int; var context_length: Int; var rms_eps: Double }
        var hf: [Head]
        var files: [String: File]
        var metadata: Meta
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.root.appendingPathComponent("reference.json")))
    }

    func analyseGGUF(_ name: String) throws -> TransformerAnalysis {
        let store = try ModelFile.open(Self.root.appendingPathComponent(name).path)
        let meta = try XCTUnwrap(store as? any ModelMetadataProviding)
        let config = try XCTUnwrap(try HFModelConfig.fromGGUF(metadata: meta.metadata, path: store.path,
                                                               tensorNames: Set(store.tensors.map(\.name))))
        return try TransformerAnalyzer.analyze(store: store, config: config,
                                               domain: TransformerDomain(sequenceLength: config.maxPositions!, normInputScale: 1))
    }

    func analyseHF() throws -> TransformerAnalysis {
        let folder = Self.root.appendingPathComponent("hf")
        let config = try HFModelConfig.load(path: folder.appendingPathComponent("config.json").path)
        let store = try ModelFile.open(folder.appendingPathComponent("model.safetensors").path)
        return try TransformerAnalyzer.analyze(store: store, config: config,
                                               domain: TransformerDomain(sequenceLength: config.maxPositions!, normInputScale: 1))
    }

    func compare(_ a: TransformerAnalysis, _ want: [Reference.Head], dh: Int, tolerance: Double, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.headSpectra.count, want.count, what, file: file, line: line)
        for (h, w) in zip(a.headSpectra, want) {
            XCTAssertEqual(h.layer, w.layer, file: file, line: line)
            XCTAssertEqual(h.head, w.head, file: file, line: line)
            for (got, exp, name) in [(h.qk, w.qk, "qk"), (h.ov, w.ov, "ov")] {
                for i in 0..<dh {
                    XCTAssertEqual(got[i], exp[i], accuracy: tolerance * exp[0],
                                   "\(what) layer \(h.layer) head \(h.head) \(name) σ_\(i + 1)", file: file, line: line)
                }
            }
        }
    }

    /// The metadata gives the Hugging Face hyper-parameters; the layout covers every tensor.
    func testConfigFromMetadata() throws {
        let store = try ModelFile.open(Self.root.appendingPathComponent("llama_q8_0.gguf").path)
        let meta = try XCTUnwrap(store as? any ModelMetadataProviding)
        let names = Set(store.tensors.map(\.name))
        let c = try XCTUnwrap(try HFModelConfig.fromGGUF(metadata: meta.metadata, path: store.path, tensorNames: names))
        XCTAssertEqual(c.modelType, "llama")
        XCTAssertEqual([c.hiddenSize, c.numLayers, c.numHeads, c.numKeyValueHeads, c.headDim, c.intermediateSize ?? 0, c.maxPositions ?? 0],
                       [64, 2, 4, 2, 16, 96, 64])
        XCTAssertEqual(c.normEpsilon ?? 0, 1e-5, accuracy: 1e-12)  // stored as f32
        XCTAssertEqual(c.activation, "silu")
        XCTAssertFalse(c.tieWordEmbeddings)
        let layout = try TransformerLayout.resolve(c, names: names).get()
        XCTAssertEqual(layout.blocks.count, 2)
        XCTAssertEqual(layout.blocks[1].query.weight, "blk.1.attn_q.weight")
        XCTAssertEqual(layout.blocks[1].gate?.weight, "blk.1.ffn_gate.weight")
        XCTAssertEqual(layout.finalNorm?.gamma, "output_norm.weight")
        // Every tensor but the embedding and the output head belongs to the layout.
        XCTAssertEqual(names.subtracting(layout.tensorNames), ["token_embd.weight", "output.weight"])
    }

    /// F32: per-head spectra of the converted file equal numpy's on the Hugging Face weights
    /// (1e-9 relative to σ_1, the brief's 1e-6 with margin): llama.cpp's Q/K permutation changes
    /// nothing. F16 / Q8_0: equal numpy's on gguf-py's dequantization (1e-9 relative).
    func testHeadSpectraEqualNumpy() throws {
        let ref = try reference()
        let dh = ref.metadata.head_dim
        compare(try analyseGGUF("llama_f32.gguf"), ref.hf, dh: dh, tolerance: 1e-9, "f32 vs HF")
        for name in ["llama_f32.gguf", "llama_f16.gguf", "llama_q8_0.gguf"] {
            compare(try analyseGGUF(name), ref.files[name]!.spectra, dh: dh, tolerance: 1e-9, name)
        }
        XCTAssertEqual(ref.files["llama_q8_0.gguf"]?.types["blk.0.attn_q.weight"], "Q8_0")
        // Quantization moved the spectra (so the comparison above is not the F32 one again).
        let q8 = try analyseGGUF("llama_q8_0.gguf"), f32 = try analyseGGUF("llama_f32.gguf")
        XCTAssertNotEqual(q8.headSpectra[0].qk[0], f32.headSpectra[0].qk[0])
    }

    /// The whole analysis of the F32 file equals the Hugging Face folder's: every head bound, norm
    /// statistic, block bound and the network bound (1e-9 relative; same domain n = 64, s = 1).
    func testF32AnalysisEqualsHuggingFaceFolder() throws {
        let g = try analyseGGUF("llama_f32.gguf"), h = try analyseHF()
        XCTAssertEqual(g.family, .llama)
        XCTAssertEqual(g.headSpectra.count, h.headSpectra.count)
        for (a, b) in zip(g.headSpectra, h.headSpectra) {
            XCTAssertEqual(a.bound, b.bound, accuracy: 1e-9 * b.bound)
            XCTAssertEqual(a.keyValueHead, b.keyValueHead)
        }
        XCTAssertEqual(g.norms.count, h.norms.count)
        for (a, b) in zip(g.norms, h.norms) {
            XCTAssertEqual(a.maxAbsGamma, b.maxAbsGamma)
            // ε: 1e-5 stored as f32 in GGUF, as a JSON double in config.json.
            XCTAssertEqual(a.lipschitz, b.lipschitz, accuracy: 1e-9 * b.lipschitz)
        }
        for (a, b) in zip(g.blocks, h.blocks) {
            XCTAssertEqual(a.attention, b.attention, accuracy: 1e-9 * b.attention)
            XCTAssertEqual(a.block ?? .nan, b.block ?? .nan, accuracy: 1e-9 * (b.block ?? 1))
        }
        let gb = try XCTUnwrap(g.networkBound), hb = try XCTUnwrap(h.networkBound)
        XCTAssertEqual(gb, hb, accuracy: 1e-9 * hb)
    }

    /// The audit reuses the exact per-tensor σ_max of the MLP matrices (`exactSpectralNorms`)
    /// instead of computing them again: its network bound equals the analysis that computes every
    /// σ_max itself (1e-12 relative), for the HF folder and the Q8_0 file; with `--svd fast` (rows
    /// by Lanczos, not reused) too.
    func testAuditReusingRowNormsEqualsDirectAnalysis() throws {
        for (path, direct) in [("hf/model.safetensors", try analyseHF()), ("llama_q8_0.gguf", try analyseGGUF("llama_q8_0.gguf"))] {
            for svd in [SVDChoice.gram, .fast] {
                var c = AuditConfiguration()
                c.svd = svd
                let report = try Auditor.run(path: Self.root.appendingPathComponent(path).path, configuration: c)
                let got = try XCTUnwrap(report.transformer?.networkBound, path)
                let want = try XCTUnwrap(direct.networkBound)
                XCTAssertEqual(got, want, accuracy: 1e-12 * want, "\(path) \(svd)")
                for (a, b) in zip(report.transformer!.blocks, direct.blocks) {
                    XCTAssertEqual(a.mlpBound ?? .nan, b.mlp ?? .nan, accuracy: 1e-12 * (b.mlp ?? 1), "\(path) block \(b.index)")
                }
            }
        }
    }

    /// The identity the GGUF path relies on (GGUFNames): permuting the rows of W_Q^h and W_K^h by
    /// the same permutation P — llama.cpp's rotate-half → interleaved reorder — leaves the QK
    /// spectrum unchanged; permuting only one of them does not (the check can fail).
    func testQKSpectrumInvariantUnderLlamaCppPermutation() throws {
        var rng = SystemRandomNumberGenerator()
        let d = 24, dh = 8
        func random(_ r: Int, _ c: Int) -> Matrix {
            Matrix(rows: r, cols: c, storage: (0..<(r * c)).map { _ in Double.random(in: -1...1, using: &rng) })
        }
        // llama.cpp permute: reshape(2, dh/2, d).swapaxes(0, 1): new row 2i+s = old row s·dh/2 + i.
        func permuted(_ w: Matrix) -> Matrix {
            var out = w
            for i in 0..<(dh / 2) {
                for s in 0..<2 {
                    for c in 0..<d { out.storage[(2 * i + s) * d + c] = w.storage[(s * dh / 2 + i) * d + c] }
                }
            }
            return out
        }
        let q = random(dh, d), k = random(dh, d)
        let plain = try LowRank.productSingularValues(b: q.transposed(), a: k, scale: 1)
        let both = try LowRank.productSingularValues(b: permuted(q).transposed(), a: permuted(k), scale: 1)
        let one = try LowRank.productSingularValues(b: permuted(q).transposed(), a: k, scale: 1)
        XCTAssertNotEqual(permuted(q), q)
        for (a, b) in zip(plain, both) { XCTAssertEqual(a, b, accuracy: 1e-12 * plain[0]) }
        XCTAssertGreaterThan(zip(plain, one).map { abs($0 - $1) }.max()!, 1e-6 * plain[0])
    }

    /// Metadata that cannot describe the network: one-line errors naming the key.
    func testMetadataErrorsNameTheKey() throws {
        var m: [String: MetadataValue] = [
            "general.architecture": .string("llama"), "llama.embedding_length": .unsigned(64, .u32),
            "llama.block_count": .unsigned(2, .u32), "llama.attention.head_count": .unsigned(4, .u32),
        ]
        XCTAssertEqual(try HFModelConfig.fromGGUF(metadata: m, path: "x.gguf", tensorNames: [])?.headDim, 16)
        XCTAssertNil(try HFModelConfig.fromGGUF(metadata: [:], path: "x.gguf", tensorNames: []))
        m["llama.attention.head_count_kv"] = .unsigned(3, .u32)
        XCTAssertThrowsError(try HFModelConfig.fromGGUF(metadata: m, path: "x.gguf", tensorNames: [])) {
            XCTAssertTrue("\($0)".contains("llama.attention.head_count_kv"), "\($0)")
        }
        m["llama.attention.head_count_kv"] = nil
        m["llama.block_count"] = nil
        XCTAssertThrowsError(try HFModelConfig.fromGGUF(metadata: m, path: "x.gguf", tensorNames: [])) {
            XCTAssertTrue("\($0)".contains("llama.block_count"), "\($0)")
        }
        m["llama.block_count"] = .array(elementType: .u32, [.unsigned(2, .u32)])
        XCTAssertThrowsError(try HFModelConfig.fromGGUF(metadata: m, path: "x.gguf", tensorNames: [])) {
            XCTAssertTrue("\($0)".contains("llama.block_count"), "\($0)")
        }
    }
}
