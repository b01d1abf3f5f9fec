@testable import Audit
import AuditReport
import Foundation
import SpectralModel
import TestSupport
import WeightFiles
import XCTest

/// GPT-2 / Llama-family sequence-classification heads (`score` at the last non-padding token)
/// against float64 torch references made with the transformers classes themselves
/// (`fixtures/generate_transformer_seqcls.py`: GPT2ForSequenceClassification with pad tokens inside
/// and after the text, LlamaForSequenceClassification unpadded, Qwen2ForSequenceClassification
/// without pad_token_id, MistralForSequenceClassification with one left-padded probe): the selected position, the logits to 1e-9, σ_max of ∂logits/∂x and
/// ∂logits/∂θ to 1e-6, the loss to 1e-12 and the loss Hessian's extremes to 1e-6, the weights-only
/// head constant σ(score) to 1e-12 (numpy), and the class's refusals.
final class TransformerLastTokenHeadTests: XCTestCase {
    static let root = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("transformers/seqcls")
    static let models = ["gpt2_cls": "GPT2ForSequenceClassification", "llama_cls": "LlamaForSequenceClassification",
                         "qwen2_cls": "Qwen2ForSequenceClassification", "mistral_cls": "MistralForSequenceClassification"]

    struct Reference: Decodable {
        struct Model: Decodable {
            var outputs: [[Double]]; var jacobian_norms: [Double]; var parameter_jacobian_norms: [Double]
            var selected_position: Int; var score_sigma_max: Double; var batch_error: String?
            var labels_loss: Double?; var hessian_lambda_max: Double?; var hessian_lambda_min: Double?
        }
        var models: [String: Model]
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.root.appendingPathComponent("reference.json")))
    }

    func open(_ name: String) throws -> (any TensorStore, HFModelConfig) {
        let folder = Self.root.appendingPathComponent(name)
        return (try ModelFile.open(folder.appendingPathComponent("model.safetensors").path),
                try HFModelConfig.load(path: folder.appendingPathComponent("config.json").path))
    }

    func path(_ file: String) -> String { Self.root.appendingPathComponent(file).path }

    func audit(_ name: String, labels: Bool = false, tokens: String? = nil) throws -> (TransformerDataV1, DataReport, [String]) {
        var o = DataAuditOptions(probePath: path(tokens ?? "\(name)_tokens.npy"), labelsPath: labels ? path("\(name)_labels.npy") : nil)
        o.jobs = 1
        o.lanczosTolerance = 1e-10
        let (store, config) = try open(name)
        return try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: nil, progress: nil)
    }

    /// The compiled backbone + score reproduces the class's pooled logits, at the position it reads.
    func testForwardAndSelectedPositionEqualTorch() throws {
        let ref = try reference()
        for name in Self.models.keys.sorted() {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            guard case .success(let layout) = TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) else { return XCTFail(name) }
            let cache = TransformerTensorCache(store: store, width: config.hiddenSize)
            let probes = try TransformerDataAudit.loadProbes(path: path("\(name)_tokens.npy"), maskPath: nil, limit: nil, width: config.hiddenSize) {
                let w = TransformerDataAudit.wordEmbeddings(layout)
                return (try store.loadFloat64(w), try store.info(w).shape[0])
            }
            let (tg, head, reason) = try TransformerDataAudit.compile(layout: layout, config: config, store: store, sequenceLength: 5, cache: cache,
                                                                      positionIds: nil, tokenIds: probes.tokenIds, count: 2)
            XCTAssertNil(reason, name)
            XCTAssertEqual(head?.architecture, Self.models[name])
            XCTAssertEqual(head?.selectedPosition, m.selected_position, name)
            let y = try ForwardModel(graph: tg.graph, load: cache.load).forward(probes.embeddings, count: 2).output
            let want = m.outputs.flatMap { $0 }, scale = want.map(abs).max()!
            XCTAssertEqual(y.count, want.count, name)
            for e in 0..<min(y.count, want.count) { XCTAssertEqual(y[e], want[e], accuracy: 1e-9 * scale, "\(name) [\(e)]") }
        }
    }

    func testLogitJacobiansEqualTorch() throws {
        let ref = try reference()
        for name in Self.models.keys.sorted() {
            let m = try XCTUnwrap(ref.models[name])
            let (data, report, notes) = try audit(name)
            let out = try XCTUnwrap(data.output)
            XCTAssertEqual(out.kind, "logits")
            XCTAssertEqual(out.architecture, Self.models[name])
            XCTAssertEqual(out.dimension, m.outputs[0].count)
            XCTAssertTrue(notes.contains { $0.contains("reads the token at position \(m.selected_position)") }, "\(name): \(notes)")
            XCTAssertEqual(report.gHReason, "transformer data mode: no labels (--labels) for the head's loss")
            for i in 0..<2 {
                XCTAssertEqual(data.jacobianNorms[i], m.jacobian_norms[i], accuracy: 1e-6 * m.jacobian_norms[i], "\(name) ‖J_x‖ \(i)")
                XCTAssertEqual(data.parameterJacobianNorms[i], m.parameter_jacobian_norms[i],
                               accuracy: 1e-6 * m.parameter_jacobian_norms[i], "\(name) ‖J_θ‖ \(i)")
            }
            let bound = try XCTUnwrap(data.networkBound, "\(name): \(data.reason ?? "")")
            for j in m.jacobian_norms { XCTAssertGreaterThanOrEqual(bound, j, name) }
            XCTAssertEqual(try XCTUnwrap(out.headBound), m.score_sigma_max, accuracy: 1e-12 * m.score_sigma_max, name)
        }
    }

    func testLabelsLossAndHessianEqualTorch() throws {
        let ref = try reference()
        for name in ["gpt2_cls", "llama_cls", "mistral_cls"] {
            let m = try XCTUnwrap(ref.models[name])
            let (data, report, _) = try audit(name, labels: true)
            try assertLabelsMatchTorch(data, report, loss: m.labels_loss, lambdaMax: m.hessian_lambda_max, lambdaMin: m.hessian_lambda_min, name)
        }
    }

    /// No pad_token_id: the class refuses a batch > 1 with labels (recorded by the script); probes
    /// padded at different places are no longer refused.
    func testRefusals() throws {
        let ref = try reference()
        XCTAssertEqual(ref.models["qwen2_cls"]?.batch_error, "Cannot handle batch sizes > 1 if no padding token is defined.")
        var o = DataAuditOptions(probePath: path("qwen2_cls_tokens.npy"), labelsPath: path("gpt2_cls_labels.npy"))
        o.jobs = 1
        let (store, config) = try open("qwen2_cls")
        XCTAssertThrowsError(try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: nil, progress: nil)) { e in
            XCTAssertTrue("\(e)".contains("Cannot handle batch sizes > 1 if no padding token is defined."), "\(e)")
            XCTAssertEqual((e as? DataAuditError)?.kind, .input)
        }
        // Probes padded differently are measured, each at its own token (TransformerPaddedProbeTests
        // checks the numbers against torch).
        let (mixed, _, notes) = try audit("gpt2_cls", tokens: "gpt2_cls_tokens_mixed.npy")
        XCTAssertEqual(mixed.output?.readPositions, [2, 4])
        XCTAssertTrue(notes.contains { $0.contains("reads each probe's own token, at positions 2,4") }, "\(notes)")
    }

    /// Weights-only: the head is σ(score) (selection: constant 1) and enters the network bound.
    func testWeightsOnlyHeadBound() throws {
        let ref = try reference()
        for name in Self.models.keys.sorted() {
            let (store, config) = try open(name)
            let (section, _) = TransformerAudit.section(store: store, config: config, options: TransformerDomainOptions(), includeSpectra: false)
            let (head, names) = try XCTUnwrap(TransformerHead.section(store: store, config: config, backbone: section))
            XCTAssertEqual(head.architecture, Self.models[name])
            XCTAssertEqual(head.kind, "sequence_classification")
            XCTAssertEqual(names, ["score.weight"])
            XCTAssertEqual(head.outputs, ref.models[name]!.outputs[0].count)
            let s = ref.models[name]!.score_sigma_max
            XCTAssertEqual(try XCTUnwrap(head.bound), s, accuracy: 1e-12 * s, name)
            XCTAssertEqual(try XCTUnwrap(head.networkBound), try XCTUnwrap(section.networkBound) * s, accuracy: 1e-12 * s * section.networkBound!)
        }
    }
}
