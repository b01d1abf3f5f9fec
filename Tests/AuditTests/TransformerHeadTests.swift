@testable import Audit
import AuditReport
import Foundation
import SpectralModel
import TestSupport
import WeightFiles
import XCTest

/// Task heads, `--labels` with the loss Hessian, and RoBERTa position ids in the transformer data
/// mode, against float64 torch references made with the transformers classes themselves
/// (`fixtures/generate_transformer_heads.py`: BertForSequenceClassification, BertForMaskedLM,
/// GPT2LMHeadModel, LlamaForCausalLM, RobertaModel): the logits (or RoBERTa's hidden state) to
/// 1e-9, σ_max of ∂output/∂x and ∂output/∂θ per probe to 1e-6 (relative), the loss to 1e-12 and the
/// loss Hessian's λ_max and λ_min (explicit double-backward Hessian + eigvalsh) to 1e-6.
final class TransformerHeadTests: XCTestCase {
    static let root = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("transformers/heads")

    struct Reference: Decodable {
        struct Model: Decodable {
            var outputs: [[Double]]; var jacobian_norms: [Double]; var parameter_jacobian_norms: [Double]; var tied: Bool
            var labels_loss: Double?; var model_loss: Double?; var hessian_lambda_max: Double?; var hessian_lambda_min: Double?
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

    func path(_ name: String) -> String { Self.root.appendingPathComponent(name).path }

    func options(_ name: String, labels: Bool) -> DataAuditOptions {
        var o = DataAuditOptions(probePath: path("\(name)_tokens.npy"), labelsPath: labels ? path("\(name)_labels.npy") : nil)
        o.jobs = 1
        o.lanczosTolerance = 1e-10
        return o
    }

    static let headed = ["bert_cls": "BertForSequenceClassification", "bert_mlm": "BertForMaskedLM",
                         "gpt2_lm": "GPT2LMHeadModel", "llama_lm": "LlamaForCausalLM"]

    func testHeadLogitsJacobiansEqualTorch() throws {
        let ref = try reference()
        for name in Self.headed.keys.sorted() + ["roberta"] {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name], name)
            let (data, report, notes) = try TransformerDataAudit.run(store: store, config: config, options: options(name, labels: false),
                                                                     maskPath: nil, progress: nil)
            let out = try XCTUnwrap(data.output)
            XCTAssertEqual(out.dimension, m.outputs[0].count, name)
            if let arch = Self.headed[name] {
                XCTAssertEqual(out.kind, "logits")
                XCTAssertEqual(out.architecture, arch)
                XCTAssertNotNil(out.headBound)
                XCTAssertTrue(notes.contains { $0.contains("output = logits of \(arch)") }, name)
                XCTAssertEqual(report.gHReason, "transformer data mode: no labels (--labels) for the head's loss")
            } else {
                XCTAssertEqual(out.kind, "last_hidden_state")
                // pad id 1 at the last position: 2, 3, 4, 5, then padding_idx.
                XCTAssertEqual(out.positionIds, [2, 3, 4, 5, 1])
            }
            for i in 0..<2 {
                XCTAssertEqual(data.jacobianNorms[i], m.jacobian_norms[i], accuracy: 1e-6 * m.jacobian_norms[i], "\(name) ‖J_x‖ probe \(i)")
                XCTAssertEqual(data.parameterJacobianNorms[i], m.parameter_jacobian_norms[i],
                               accuracy: 1e-6 * m.parameter_jacobian_norms[i], "\(name) ‖J_θ‖ probe \(i)")
            }
            // The bound to the logits (backbone × head) holds at the probes.
            let bound = try XCTUnwrap(data.networkBound, "\(name): \(data.reason ?? "")")
            for j in m.jacobian_norms { XCTAssertGreaterThanOrEqual(bound, j, name) }
            XCTAssertEqual(data.boundHolds, true)
        }
    }

    /// The compiled graph with its head reproduces the class's logits (RoBERTa: the hidden state).
    func testForwardEqualsTorch() throws {
        let ref = try reference()
        for name in Self.headed.keys.sorted() + ["roberta"] {
            let (store, config) = try open(name)
            guard case .success(let layout) = TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) else { return XCTFail(name) }
            let d = config.hiddenSize
            let cache = TransformerTensorCache(store: store, width: d)
            let probes = try TransformerDataAudit.loadProbes(path: path("\(name)_tokens.npy"), maskPath: nil, limit: nil, width: d) {
                let w = TransformerDataAudit.wordEmbeddings(layout)
                return (try store.loadFloat64(w), try store.info(w).shape[0])
            }
            let ids = try TransformerPositions.ids(config: config, tokenIds: probes.tokenIds, count: 2, length: 5)
            let (tg, head, _) = try TransformerDataAudit.compile(layout: layout, config: config, store: store, sequenceLength: 5,
                                                                 cache: cache, positionIds: ids)
            XCTAssertEqual(head?.architecture, Self.headed[name])
            let model = try ForwardModel(graph: tg.graph, load: cache.load)
            let y = model.forward(probes.embeddings, count: 2).output
            let want = ref.models[name]!.outputs.flatMap { $0 }, scale = want.map(abs).max()!
            XCTAssertEqual(y.count, want.count, name)
            for e in 0..<min(y.count, want.count) { XCTAssertEqual(y[e], want[e], accuracy: 1e-9 * scale, "\(name) [\(e)]") }
        }
    }

    func testLabelsLossAndHessianExtremesEqualTorch() throws {
        let ref = try reference()
        for name in Self.headed.keys.sorted() {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: options(name, labels: true),
                                                                 maskPath: nil, progress: nil)
            let labels = try XCTUnwrap(data.output?.labels, name)
            let loss = try XCTUnwrap(m.labels_loss), lmax = try XCTUnwrap(m.hessian_lambda_max), lmin = try XCTUnwrap(m.hessian_lambda_min)
            XCTAssertEqual(labels.loss, loss, accuracy: 1e-12 * loss, name)
            // The class's own loss (float32 logits for the causal LMs) agrees to its precision.
            XCTAssertEqual(labels.loss, try XCTUnwrap(m.model_loss), accuracy: 1e-6 * loss, name)
            XCTAssertTrue(labels.converged, name)
            XCTAssertEqual(labels.hessianLambdaMax, lmax, accuracy: 1e-6 * abs(lmax), "\(name) λ_max")
            XCTAssertEqual(labels.hessianLambdaMin, lmin, accuracy: 1e-6 * abs(lmin), "\(name) λ_min")
            XCTAssertEqual(try XCTUnwrap(report.gH), max(abs(lmax), abs(lmin)), accuracy: 1e-6 * max(abs(lmax), abs(lmin)))
            XCTAssertNil(report.gHReason)
            XCTAssertEqual(report.loss, "cross_entropy")
        }
    }

    func testBadLabelsAndHeadlessLabelsAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("headlabels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func npy(_ file: String, descr: String, shape: [Int], _ values: [Int64]) throws -> String {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            data.append(contentsOf: [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
            data.append(contentsOf: Array(header.utf8))
            for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
            let url = dir.appendingPathComponent(file)
            try data.write(to: url)
            return url.path
        }
        func run(_ name: String, labels: String) throws {
            var o = options(name, labels: false)
            o.labelsPath = labels
            let (store, config) = try open(name)
            _ = try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: nil, progress: nil)
        }
        let outside = try npy("outside.npy", descr: "<i8", shape: [2], [0, 3])
        XCTAssertThrowsError(try run("bert_cls", labels: outside)) { e in
            XCTAssertTrue("\(e)".contains("label 3 at probe 1 is outside [0, 3) and not -100"), "\(e)")
        }
        let shape = try npy("shape.npy", descr: "<i8", shape: [2, 4], [Int64](repeating: 0, count: 8))
        XCTAssertThrowsError(try run("gpt2_lm", labels: shape)) { e in
            XCTAssertTrue("\(e)".contains("must have shape [2, 5] target ids"), "\(e)")
        }
        // A causal LM never scores position 0's label, so these are all ignored.
        let ignored = try npy("ignored.npy", descr: "<i8", shape: [2, 5], [3, -100, -100, -100, -100, 4, -100, -100, -100, -100])
        XCTAssertThrowsError(try run("gpt2_lm", labels: ignored)) { e in
            XCTAssertTrue("\(e)".contains("every label is ignored"), "\(e)")
        }
        // RoBERTa base model: no head, no loss.
        let any = try npy("any.npy", descr: "<i8", shape: [2], [0, 1])
        XCTAssertThrowsError(try run("roberta", labels: any)) { e in
            XCTAssertTrue("\(e)".contains("--labels needs a task head"), "\(e)")
        }
        // RoBERTa probes padded at different places: each gets its own position ids (no longer
        // refused; TransformerPaddedProbeTests checks the numbers against torch).
        let (store, config) = try open("roberta")
        let padded = try npy("padded.npy", descr: "<i8", shape: [2, 5], [5, 6, 7, 1, 1, 5, 6, 7, 8, 1])
        let (data, _, _) = try TransformerDataAudit.run(store: store, config: config, options: DataAuditOptions(probePath: padded),
                                                        maskPath: nil, progress: nil)
        XCTAssertEqual(data.output?.probePositionIds, [[2, 3, 4, 1, 1], [2, 3, 4, 5, 1]])
        XCTAssertNil(data.output?.positionIds)
    }

    /// Weights-only: the head's constant enters the network bound (to the logits).
    func testWeightsOnlyHeadBound() throws {
        for name in Self.headed.keys.sorted() {
            let (store, config) = try open(name)
            let (section, _) = TransformerAudit.section(store: store, config: config, options: TransformerDomainOptions(),
                                                        includeSpectra: false)
            let (head, names) = try XCTUnwrap(TransformerHead.section(store: store, config: config, backbone: section))
            XCTAssertEqual(head.architecture, Self.headed[name])
            XCTAssertEqual(names.isEmpty, name == "gpt2_lm", name)  // GPT-2's head is the (tied) word embedding only
            let h = try XCTUnwrap(head.bound, name)
            XCTAssertGreaterThan(h, 0)
            XCTAssertEqual(try XCTUnwrap(head.networkBound), try XCTUnwrap(section.networkBound) * h, accuracy: 1e-12 * h * section.networkBound!)
            XCTAssertEqual(head.tiedToEmbeddings, name == "bert_mlm" || name == "gpt2_lm", name)
        }
    }
}
