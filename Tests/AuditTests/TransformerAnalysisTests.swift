import Audit
import Foundation
import LinearAlgebra
import TestSupport
import WeightFiles
import XCTest

/// The transformer analysis on tiny BERT, GPT-2 and Llama folders written by `transformers`
/// (`fixtures/generate_transformers.py`): per-head spectra equal numpy's on the formed d×d maps,
/// and the network bound on a domain holds for torch's measured Jacobians of inputs inside it.
final class TransformerAnalysisTests: XCTestCase {
    static let root = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("transformers")

    struct Reference: Decodable {
        struct Head: Decodable { var qk: [Double]; var ov: [Double] }
        struct Norm: Decodable { var max_abs_gamma: Double; var beta_norm: Double; var eps: Double }
        struct Model: Decodable {
            var heads: [[Head]]
            var norms: [String: Norm]
            var jacobian_norms: [Double]
            var min_norm_input_scale: Double
            var head_dim: Int
        }
        struct Probes: Decodable { var sequence_length: Int }
        var models: [String: Model]
        var probes: Probes
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.root.appendingPathComponent("reference.json")))
    }

    func analyse(_ family: String, domain: TransformerDomain) throws -> TransformerAnalysis {
        let folder = Self.root.appendingPathComponent(family)
        let config = try HFModelConfig.load(path: folder.appendingPathComponent("config.json").path)
        let store = try ModelFile.open(folder.appendingPathComponent("model.safetensors").path)
        return try TransformerAnalyzer.analyze(store: store, config: config, domain: domain)
    }

    /// σ of W_Qᵀ W_K/√d_h and W_O W_V per head, from the thin factors, equal numpy's SVD of the
    /// formed matrices: leading values to 1e-9 relative, the rest to 1e-12·σ_1 absolute.
    func testHeadSpectraEqualNumpy() throws {
        let ref = try reference()
        for (family, model) in ref.models {
            let a = try analyse(family, domain: TransformerDomain(sequenceLength: 16, normInputScale: 1))
            XCTAssertEqual(a.headSpectra.count, model.heads.count * model.heads[0].count, family)
            for h in a.headSpectra {
                let want = model.heads[h.layer][h.head]
                for (got, exp, what) in [(h.qk, want.qk, "qk"), (h.ov, want.ov, "ov")] {
                    XCTAssertEqual(got.count, 16, "\(family) \(what)")
                    for i in 0..<model.head_dim {
                        XCTAssertEqual(got[i], exp[i], accuracy: max(1e-9 * exp[i], 1e-12 * exp[0]),
                                       "\(family) layer \(h.layer) head \(h.head) \(what) σ_\(i + 1)")
                    }
                    XCTAssertTrue(got[model.head_dim...].allSatisfy { $0 == 0 })
                }
                XCTAssertEqual(h.qkMetrics.spectralNorm, want.qk[0], accuracy: 1e-9 * want.qk[0])
            }
            for n in a.norms {
                let key = String(n.name.dropFirst(0))
                let want = try XCTUnwrap(model.norms[key], "\(family): no reference for norm \(key)")
                XCTAssertEqual(n.maxAbsGamma, want.max_abs_gamma, accuracy: 1e-7 * want.max_abs_gamma, key)
                XCTAssertEqual(n.betaNorm, want.beta_norm, accuracy: 1e-6 * max(want.beta_norm, 1e-30), key)
                XCTAssertEqual(n.epsilon, want.eps, key)
            }
            XCTAssertEqual(a.norms.count, model.norms.count, family)
        }
    }

    /// Soundness: on the domain the probes lie in (n tokens, every normalisation input of scale at
    /// least the smallest torch measured), the bound is ≥ every measured ‖J‖₂ of the map input
    /// embeddings → last hidden state (float64 autograd, whole sequence).
    func testNetworkBoundHoldsOnMeasuredJacobians() throws {
        let ref = try reference()
        for (family, model) in ref.models {
            let domain = TransformerDomain(sequenceLength: ref.probes.sequence_length, normInputScale: model.min_norm_input_scale)
            let a = try analyse(family, domain: domain)
            let bound = try XCTUnwrap(a.networkBound, "\(family): \(a.networkBoundReason ?? "")")
            for j in model.jacobian_norms {
                XCTAssertGreaterThanOrEqual(bound, j, "\(family): bound \(bound) below a measured Jacobian norm \(j)")
            }
            XCTAssertEqual(a.blocks.count, 2)
            // A longer sequence or a smaller scale can only raise the bound (monotone in the domain).
            let wider = try analyse(family, domain: TransformerDomain(sequenceLength: 4 * domain.sequenceLength,
                                                                      normInputScale: domain.normInputScale / 2))
            XCTAssertGreaterThan(try XCTUnwrap(wider.networkBound), bound, family)
        }
    }

    func testFamiliesAndErrors() throws {
        XCTAssertEqual(TransformerFamily(modelType: "roberta"), .bert)
        XCTAssertEqual(TransformerFamily(modelType: "qwen2"), .llama)
        XCTAssertNil(TransformerFamily(modelType: "t5"))
        let bad = #"{"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3}"#
        XCTAssertThrowsError(try HFModelConfig.parse(Data(bad.utf8), path: "config.json")) { e in
            XCTAssertTrue("\(e)".contains("num_key_value_heads"), "\(e)")
        }
        let missing = #"{"model_type": "gpt2", "n_embd": 16}"#
        XCTAssertThrowsError(try HFModelConfig.parse(Data(missing.utf8), path: "config.json")) { e in
            XCTAssertTrue("\(e)".contains("n_layer") || "\(e)".contains("num_hidden_layers"), "\(e)")
        }
        // A config naming a family whose tensors are not in the file: a reason, nothing guessed.
        let folder = Self.root.appendingPathComponent("bert")
        var config = try HFModelConfig.load(path: folder.appendingPathComponent("config.json").path)
        config.modelType = "llama"
        let store = try ModelFile.open(folder.appendingPathComponent("model.safetensors").path)
        XCTAssertThrowsError(try TransformerAnalyzer.analyze(store: store, config: config,
                                                             domain: TransformerDomain(sequenceLength: 8, normInputScale: 1))) { e in
            XCTAssertTrue("\(e)".contains("q_proj"), "\(e)")
        }
    }
}
