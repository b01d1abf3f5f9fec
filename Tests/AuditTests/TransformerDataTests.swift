@testable import Audit
import AuditReport
import Foundation
import SpectralModel
import TestSupport
import WeightFiles
import XCTest

/// Transformer data mode on the tiny BERT, GPT-2 and Llama folders against float64 torch references
/// (`fixtures/generate_transformer_probes.py`: the transformers classes in eval mode, autograd
/// Jacobians, numpy SVD): last hidden states to 1e-9, per-probe σ_max of ∂h/∂x and ∂h/∂θ to 1e-6
/// (relative), for token probes, token probes with a padding mask, and embedding probes; and the
/// local bound on the domain the probes met is ≥ every measured Jacobian norm.
final class TransformerDataTests: XCTestCase {
    static let root = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("transformers")

    struct Reference: Decodable {
        struct Run: Decodable {
            var hidden: [[Double]]; var jacobian_norms: [Double]; var parameter_jacobian_norms: [Double]; var ntk_lambda_max: Double
            var jacobian_entropy: [Double]; var tau: [Double]; var attribution_instability: [Double]
            var ntk_lambda_min: Double; var ntk_first_two_probes: [Double]
        }
        struct Model: Decodable { var tokens: Run; var tokens_masked: Run; var embeds: Run; var parameter_count: Int }
        var models: [String: Model]
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.root.appendingPathComponent("probes/reference.json")))
    }

    /// One default-options data audit (`jobs` 1) per family × probe kind (token ids, token ids with
    /// the padding mask, embeddings), with its torch reference run. Made once per test process:
    /// the norm test and the entropy/τ/attribution test check the same nine audits.
    struct DefaultRun {
        var family: String, kind: String, run: Reference.Run
        var data: TransformerDataV1, report: DataReport
    }

    nonisolated(unsafe) static var cachedDefaultRuns: [DefaultRun]?

    func defaultRuns() throws -> [DefaultRun] {
        if let runs = Self.cachedDefaultRuns { return runs }
        let ref = try reference()
        var runs: [DefaultRun] = []
        for family in ["bert", "gpt2", "llama"] {
            let (store, config) = try open(family)
            let m = ref.models[family]!
            for (kind, run, mask) in [("tokens", m.tokens, false), ("tokens_masked", m.tokens_masked, true), ("embeds", m.embeds, false)] {
                var options = DataAuditOptions(probePath: probe(family, kind == "embeds" ? "embeds" : "tokens"))
                options.jobs = 1
                let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: options,
                                                                     maskPath: mask ? probe(family, "mask") : nil, progress: nil)
                runs.append(DefaultRun(family: family, kind: kind, run: run, data: data, report: report))
            }
        }
        Self.cachedDefaultRuns = runs
        return runs
    }

    func open(_ family: String) throws -> (any TensorStore, HFModelConfig) {
        let folder = Self.root.appendingPathComponent(family)
        return (try ModelFile.open(folder.appendingPathComponent("model.safetensors").path),
                try HFModelConfig.load(path: folder.appendingPathComponent("config.json").path))
    }

    func probe(_ family: String, _ kind: String) -> String { Self.root.appendingPathComponent("probes/\(family)_\(kind).npy").path }

    func testJacobianNormsEqualTorchAndStayBelowTheMeasuredDomainBound() throws {
        for r in try defaultRuns() {
            let (family, kind, run, data, report) = (r.family, r.kind, r.run, r.data, r.report)
            XCTAssertEqual(data.probes, 3)
            for i in 0..<3 {
                XCTAssertEqual(data.jacobianNorms[i], run.jacobian_norms[i], accuracy: 1e-6 * run.jacobian_norms[i], "\(family) \(kind) ‖J_x‖ probe \(i)")
                XCTAssertEqual(data.parameterJacobianNorms[i], run.parameter_jacobian_norms[i],
                               accuracy: 1e-6 * run.parameter_jacobian_norms[i], "\(family) \(kind) ‖J_θ‖ probe \(i)")
                // The certificate brackets σ_max: [θ, θ + r].
                XCTAssertLessThanOrEqual(data.jacobianNorms[i], run.jacobian_norms[i] * (1 + 1e-9))
                XCTAssertLessThanOrEqual(run.jacobian_norms[i], data.jacobianNorms[i] + data.jacobianResiduals[i] + 1e-9 * run.jacobian_norms[i])
            }
            XCTAssertEqual(try XCTUnwrap(report.gK), run.ntk_lambda_max, accuracy: 1e-6 * run.ntk_lambda_max, "\(family) \(kind) NTK λ_max")
            XCTAssertEqual(try XCTUnwrap(report.gJ), run.jacobian_norms.max()!, accuracy: 1e-6 * run.jacobian_norms.max()!)
            let bound = try XCTUnwrap(data.networkBound, "\(family) \(kind): \(data.reason ?? "")")
            XCTAssertEqual(data.boundHolds, true)
            for j in run.jacobian_norms { XCTAssertGreaterThanOrEqual(bound, j, "\(family) \(kind): bound below torch's ‖J‖") }
            XCTAssertEqual(data.measuredDomain.sequenceLength, 6)
            XCTAssertEqual(data.measuredDomain.attentionInputRowNorms.count, 2)
        }
    }

    /// The compiled graph's forward pass equals the library's last hidden state.
    func testHiddenStatesEqualTorch() throws {
        let ref = try reference()
        for family in ["bert", "gpt2", "llama"] {
            let (store, config) = try open(family)
            guard case .success(let layout) = TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) else {
                return XCTFail(family)
            }
            let d = config.hiddenSize
            let cache = TransformerTensorCache(store: store, width: d)
            for (kind, run, masked) in [("tokens", ref.models[family]!.tokens, false), ("tokens_masked", ref.models[family]!.tokens_masked, true),
                                        ("embeds", ref.models[family]!.embeds, false)] {
                let probes = try TransformerDataAudit.loadProbes(path: probe(family, kind == "embeds" ? "embeds" : "tokens"),
                                                                 maskPath: masked ? probe(family, "mask") : nil, limit: nil, width: d) {
                    let name = TransformerDataAudit.wordEmbeddings(layout)
                    return (try store.loadFloat64(name), try store.info(name).shape[0])
                }
                for i in 0..<3 {
                    let tg = try TransformerGraph.build(layout: layout, config: config, sequenceLength: 6, mask: probes.masks?[i], cache: cache)
                    let model = try ForwardModel(graph: tg.graph, load: cache.load)
                    let y = model.forward(Array(probes.embeddings[(i * 6 * d)..<((i + 1) * 6 * d)]), count: 1).output
                    let want = run.hidden[i], scale = want.map(abs).max()!
                    XCTAssertEqual(y.count, want.count)
                    for e in 0..<y.count { XCTAssertEqual(y[e], want[e], accuracy: 1e-9 * scale, "\(family) \(kind) probe \(i) [\(e)]") }
                }
            }
        }
    }

    func testBadProbesAreClearErrors() throws {
        let (store, config) = try open("bert")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenprobe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func npy(_ name: String, descr: String, shape: [Int], _ values: [Int64]) throws -> String {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            data.append(contentsOf: [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
            data.append(contentsOf: Array(header.utf8))
            for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
            let url = dir.appendingPathComponent(name)
            try data.write(to: url)
            return url.path
        }
        let outside = try npy("outside.npy", descr: "<i8", shape: [1, 3], [1, 2, 50])
        XCTAssertThrowsError(try TransformerDataAudit.run(store: store, config: config, options: DataAuditOptions(probePath: outside),
                                                          maskPath: nil, progress: nil)) { e in
            XCTAssertTrue("\(e)".contains("token id 50 at probe 0, position 2 is outside the vocabulary [0, 50)"), "\(e)")
        }
        let tokens = try npy("ok.npy", descr: "<i8", shape: [1, 3], [1, 2, 3])
        let badMask = try npy("mask.npy", descr: "<i8", shape: [1, 2], [1, 1])
        XCTAssertThrowsError(try TransformerDataAudit.run(store: store, config: config, options: DataAuditOptions(probePath: tokens),
                                                          maskPath: badMask, progress: nil)) { e in
            XCTAssertTrue("\(e)".contains("the attention mask must have shape [N, 3]"), "\(e)")
        }
        let zeroMask = try npy("zero.npy", descr: "<i8", shape: [1, 3], [0, 0, 0])
        XCTAssertThrowsError(try TransformerDataAudit.run(store: store, config: config, options: DataAuditOptions(probePath: tokens),
                                                          maskPath: zeroMask, progress: nil)) { e in
            XCTAssertTrue("\(e)".contains("at least one 1"), "\(e)")
        }
        let long = try npy("long.npy", descr: "<i8", shape: [1, 17], [Int64](repeating: 1, count: 17))
        XCTAssertThrowsError(try TransformerDataAudit.run(store: store, config: config, options: DataAuditOptions(probePath: long),
                                                          maskPath: nil, progress: nil)) { e in
            XCTAssertTrue("\(e)".contains("exceed the model's 16 positions"), "\(e)")
        }
    }
}
