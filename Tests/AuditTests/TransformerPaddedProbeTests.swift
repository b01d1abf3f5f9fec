@testable import Audit
import AuditReport
import Foundation
import SpectralModel
import TestSupport
import WeightFiles
import XCTest

/// Probes padded differently in one batch, against float64 torch references made with the
/// transformers classes themselves (`fixtures/generate_transformer_padded.py`, on the committed
/// tiny RobertaModel and GPT2/LlamaForSequenceClassification): RoBERTa probes with right padding of
/// different lengths and an inner pad (each probe's own position ids, with the attention mask), and
/// last-token classifiers whose probes are left-, right- and both-padded (each probe's own read
/// token). One compiled model serves all probes, the per-probe positions riding on the tapes
/// (`SampleChannels`). Position ids and read positions exact, the outputs of one batched forward
/// pass to 1e-9, per probe σ_max of ∂output/∂x and ∂output/∂θ to 1e-6, the NTK extremes of the
/// batch to 1e-6, the loss to 1e-12 and the loss Hessian's extremes to 1e-6; the bound ≥ every
/// measured norm.
final class TransformerPaddedProbeTests: XCTestCase {
    static let fixtures = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("transformers")
    static let root = fixtures.appendingPathComponent("padded")
    static let folders = ["roberta": "heads/roberta", "gpt2_cls": "seqcls/gpt2_cls", "llama_cls": "seqcls/llama_cls"]

    struct Reference: Decodable {
        struct Model: Decodable {
            var outputs: [[Double]]; var jacobian_norms: [Double]; var parameter_jacobian_norms: [Double]
            var ntk_lambda_max: Double; var ntk_lambda_min: Double
            var probe_position_ids: [[Int]]?; var read_positions: [Int]?
            var labels_loss: Double?; var hessian_lambda_max: Double?; var hessian_lambda_min: Double?
        }
        var models: [String: Model]
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.root.appendingPathComponent("reference.json")))
    }

    func open(_ name: String) throws -> (any TensorStore, HFModelConfig) {
        let folder = Self.fixtures.appendingPathComponent(Self.folders[name]!)
        return (try ModelFile.open(folder.appendingPathComponent("model.safetensors").path),
                try HFModelConfig.load(path: folder.appendingPathComponent("config.json").path))
    }

    func path(_ file: String) -> String { Self.root.appendingPathComponent(file).path }
    func maskPath(_ name: String) -> String? { name == "roberta" ? path("roberta_mask.npy") : nil }

    /// Each probe's position ids / read token as transformers computes them, and the outputs of one
    /// forward pass over the whole batch (each probe's channels on the tape).
    func testPositionsAndBatchedForwardEqualTorch() throws {
        let ref = try reference()
        for name in Self.folders.keys.sorted() {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            guard case .success(let layout) = TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) else { return XCTFail(name) }
            let d = config.hiddenSize
            let cache = TransformerTensorCache(store: store, width: d)
            let probes = try TransformerDataAudit.loadProbes(path: path("\(name)_tokens.npy"), maskPath: maskPath(name), limit: nil, width: d) {
                let w = TransformerDataAudit.wordEmbeddings(layout)
                return (try store.loadFloat64(w), try store.info(w).shape[0])
            }
            let ids = try TransformerPositions.ids(config: config, tokenIds: probes.tokenIds, count: 3, length: 5)
            XCTAssertEqual(ids, m.probe_position_ids, name)
            let (tg, head, reason) = try TransformerDataAudit.compile(layout: layout, config: config, store: store, sequenceLength: 5,
                                                                      cache: cache, positionIds: ids, tokenIds: probes.tokenIds, count: 3)
            XCTAssertNil(reason, name)
            XCTAssertEqual(head?.selectedPositions, m.read_positions, name)
            let channels = TransformerPositions.channels(positionIds: ids, readPositions: head?.selectedPositions)
            let model = try ForwardModel(graph: tg.graph, load: cache.load)
            let y = model.forward(probes.embeddings, count: 3, keyMasks: probes.masks, channels: channels).output
            let want = m.outputs.flatMap { $0 }, scale = want.map(abs).max()!
            XCTAssertEqual(y.count, want.count, name)
            for e in 0..<min(y.count, want.count) { XCTAssertEqual(y[e], want[e], accuracy: 1e-9 * scale, "\(name) [\(e)]") }
            // Without the channels every probe would use probe 0's positions: the channel matters here.
            let shared = model.forward(probes.embeddings, count: 3, keyMasks: probes.masks).output
            XCTAssertGreaterThan(zip(shared, want).map { abs($0 - $1) }.max()!, 1e-3 * scale, name)
        }
    }

    func testJacobiansNTKAndBoundEqualTorch() throws {
        let ref = try reference()
        for name in Self.folders.keys.sorted() {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            var o = DataAuditOptions(probePath: path("\(name)_tokens.npy"))
            o.jobs = 1
            o.lanczosTolerance = 1e-10
            let (data, report, notes) = try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: maskPath(name),
                                                                     progress: nil)
            let out = try XCTUnwrap(data.output)
            XCTAssertEqual(out.probePositionIds, m.probe_position_ids, name)
            XCTAssertEqual(out.readPositions, m.read_positions, name)
            XCTAssertNil(out.positionIds, "\(name): the probes' ids differ")
            if let r = m.read_positions {
                XCTAssertTrue(notes.contains { $0.contains("reads each probe's own token, at positions \(r.map(String.init).joined(separator: ","))") }, "\(notes)")
            } else {
                XCTAssertTrue(notes.contains { $0.contains("each probe's own position ids (2,3,4,5,1; 2,3,1,1,1; 2,1,3,4,1)") }, "\(notes)")
            }
            for i in 0..<3 {
                XCTAssertEqual(data.jacobianNorms[i], m.jacobian_norms[i], accuracy: 1e-6 * m.jacobian_norms[i], "\(name) ‖J_x‖ \(i)")
                XCTAssertEqual(data.parameterJacobianNorms[i], m.parameter_jacobian_norms[i],
                               accuracy: 1e-6 * m.parameter_jacobian_norms[i], "\(name) ‖J_θ‖ \(i)")
            }
            XCTAssertEqual(try XCTUnwrap(report.gK), m.ntk_lambda_max, accuracy: 1e-6 * m.ntk_lambda_max, "\(name) NTK λ_max")
            // RoBERTa's hidden state ends in a LayerNorm: K_S is singular (λ_min = 0 to rounding).
            let tolMin = name == "roberta" ? 1e-6 * m.ntk_lambda_max : 1e-6 * abs(m.ntk_lambda_min)
            XCTAssertEqual(try XCTUnwrap(report.ntkLambdaMin), m.ntk_lambda_min, accuracy: tolMin, "\(name) NTK λ_min")
            let bound = try XCTUnwrap(data.networkBound, "\(name): \(data.reason ?? "")")
            for j in m.jacobian_norms { XCTAssertGreaterThanOrEqual(bound, j, name) }
            XCTAssertEqual(data.boundHolds, true, name)
        }
    }

    func testLabelsLossAndHessianEqualTorch() throws {
        let ref = try reference()
        for name in ["gpt2_cls", "llama_cls"] {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            var o = DataAuditOptions(probePath: path("\(name)_tokens.npy"), labelsPath: path("\(name)_labels.npy"))
            o.jobs = 1
            o.lanczosTolerance = 1e-10
            let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: nil, progress: nil)
            try assertLabelsMatchTorch(data, report, loss: m.labels_loss, lambdaMax: m.hessian_lambda_max, lambdaMin: m.hessian_lambda_min, name)
        }
    }

    /// SLQ and attribution evaluate copies of one probe (`forward(_:count:replicating:)`): the
    /// copies carry that probe's mask and channels, so they reproduce its tape exactly; and at a
    /// tiny ε the attribution of the perturbed copies is the probe's own (instability ≈ 0, which
    /// probe 0's positions on the copies of probes 1 and 2 would break). Not for llama_cls: its
    /// left-padded probes start with the pad token, whose embedding row is zero (padding_idx), and
    /// RMSNorm (ε = 1e-6) at a zero row has a second derivative ~ε^-3/2, so their attribution is
    /// genuinely unstable even at ε = 1e-9 (as main's mistral_cls probe 0: 5e-4).
    func testReplicatedProbesKeepTheirOwnPositions() throws {
        for name in Self.folders.keys.sorted() {
            let (store, config) = try open(name)
            guard case .success(let layout) = TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) else { return XCTFail(name) }
            let d = config.hiddenSize, D = 5 * d
            let cache = TransformerTensorCache(store: store, width: d)
            let probes = try TransformerDataAudit.loadProbes(path: path("\(name)_tokens.npy"), maskPath: maskPath(name), limit: nil, width: d) {
                let w = TransformerDataAudit.wordEmbeddings(layout)
                return (try store.loadFloat64(w), try store.info(w).shape[0])
            }
            let ids = try TransformerPositions.ids(config: config, tokenIds: probes.tokenIds, count: 3, length: 5)
            let (tg, head, _) = try TransformerDataAudit.compile(layout: layout, config: config, store: store, sequenceLength: 5,
                                                                 cache: cache, positionIds: ids, tokenIds: probes.tokenIds, count: 3)
            let channels = TransformerPositions.channels(positionIds: ids, readPositions: head?.selectedPositions)
            let model = try ForwardModel(graph: tg.graph, load: cache.load)
            for i in 0..<3 {
                let x = Array(probes.embeddings[(i * D)..<((i + 1) * D)])
                let tape = model.forward(x, count: 1, keyMasks: probes.masks.map { [$0[i]] }, channels: channels.slice(i..<(i + 1)))
                let copies = model.forward(x + x, count: 2, replicating: tape)
                XCTAssertEqual(copies.output, tape.output + tape.output, "\(name) probe \(i)")
            }
            guard name != "llama_cls" else { continue }
            var o = DataAuditOptions(probePath: path("\(name)_tokens.npy"))
            o.jobs = 1
            o.attributionEpsilon = 1e-9
            let (_, report, _) = try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: maskPath(name), progress: nil)
            for (i, a) in report.perSample.attributionInstability.enumerated() { XCTAssertLessThan(a, 1e-9, "\(name) probe \(i)") }
        }
    }

    /// Nine probes, the three padded ones three times over: two NTK batches (8 + 1, `ntkBatch`), so
    /// each batch's tape gets its own slice of the channels. J_S is the 3-probe Jacobian stacked
    /// three times, so K_S/9 has the 3-probe K_S/3's nonzero eigenvalues (λ_max = the reference),
    /// and the mean loss over 9 is the mean over 3 (same loss, same Hessian); per-probe norms repeat.
    func testTwoNTKBatchesOfPaddedProbes() throws {
        XCTAssertEqual(TransformerDataAudit.ntkBatch, 8)
        let ref = try reference()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("padded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        /// The `.npy` at `file` with its first axis repeated three times (int64).
        func tiled(_ file: String) throws -> String {
            let s = try NPYTensorStore(path: path(file))
            let info = try XCTUnwrap(s.tensors.first)
            let v = try s.loadFloat64(info.name).map { Int64($0) }
            let shape = [info.shape[0] * 3] + info.shape.dropFirst()
            var header = "{'descr': '<i8', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            data.append(contentsOf: [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
            data.append(contentsOf: Array(header.utf8))
            for x in v + v + v { withUnsafeBytes(of: x.littleEndian) { data.append(contentsOf: $0) } }
            let url = dir.appendingPathComponent(file)
            try data.write(to: url)
            return url.path
        }
        for name in ["roberta", "gpt2_cls"] {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            var o = DataAuditOptions(probePath: try tiled("\(name)_tokens.npy"), labelsPath: name == "roberta" ? nil : try tiled("\(name)_labels.npy"))
            o.jobs = 2
            o.lanczosTolerance = 1e-10
            let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: o,
                                                                 maskPath: name == "roberta" ? try tiled("roberta_mask.npy") : nil, progress: nil)
            XCTAssertEqual(data.jacobianNorms.count, 9)
            for i in 0..<9 {
                XCTAssertEqual(data.jacobianNorms[i], m.jacobian_norms[i % 3], accuracy: 1e-6 * m.jacobian_norms[i % 3], "\(name) ‖J_x‖ \(i)")
                XCTAssertEqual(data.parameterJacobianNorms[i], m.parameter_jacobian_norms[i % 3],
                               accuracy: 1e-6 * m.parameter_jacobian_norms[i % 3], "\(name) ‖J_θ‖ \(i)")
            }
            XCTAssertEqual(try XCTUnwrap(report.gK), m.ntk_lambda_max, accuracy: 1e-6 * m.ntk_lambda_max, "\(name) NTK λ_max over 2 batches")
            if let lmax = m.hessian_lambda_max, let lmin = m.hessian_lambda_min, let loss = m.labels_loss {
                let labels = try XCTUnwrap(data.output?.labels)
                XCTAssertEqual(labels.loss, loss, accuracy: 1e-12 * loss, name)
                XCTAssertEqual(labels.hessianLambdaMax, lmax, accuracy: 1e-6 * abs(lmax), "\(name) λ_max")
                XCTAssertEqual(labels.hessianLambdaMin, lmin, accuracy: 1e-6 * abs(lmin), "\(name) λ_min")
            }
        }
    }
}
