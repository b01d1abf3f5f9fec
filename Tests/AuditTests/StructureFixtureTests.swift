import Foundation
import XCTest
@testable import Audit
import AuditReport

/// Issue 16's "Why", case by case, on the files of `fixtures/structure/` against
/// `fixtures/structure/reference.json` (numpy float64 and torch autograd, made by
/// `fixtures/generate_structure.py`). Tolerances: σ_max, Frobenius, stable rank 1e-6 relative;
/// spectral entropy 1e-4 absolute; bounds 1e-9 relative.
final class StructureFixtureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/structure")
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("reference.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    func audit(_ file: String, _ configure: (inout AuditConfiguration) -> Void = { _ in }) throws -> AuditReportV1 {
        var c = AuditConfiguration()
        c.timestamps = false
        c.jobs = 2
        configure(&c)
        return try Auditor.run(path: Self.root.appendingPathComponent(file).path, configuration: c)
    }

    func row(_ r: AuditReportV1, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> LayerReport {
        try XCTUnwrap(r.layers.first { $0.name == name }, "no row '\(name)'", file: file, line: line)
    }

    /// A row's (or view's) metrics equal numpy's: σ_max, Frobenius, stable rank 1e-6 relative,
    /// entropy 1e-4, every singular value 1e-6 × σ_max, the shape.
    func assertMetrics(_ m: SpectrumMetricsV1?, _ sv: [Double]?, shape: [Int]?, _ ref: [String: Any], _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        guard let m else { return XCTFail("\(what): no metrics", file: file, line: line) }
        XCTAssertEqual(shape, ref["shape"] as? [Int], "\(what) shape", file: file, line: line)
        for key in ["spectral_norm", "frobenius", "stable_rank"] {
            let want = ref[key] as! Double
            let got = m.value(named: key) ?? .nan
            XCTAssertLessThanOrEqual(abs(got - want), 1e-6 * abs(want), "\(what) \(key): \(got) vs \(want)", file: file, line: line)
        }
        XCTAssertEqual(m.spectralEntropy ?? .nan, ref["spectral_entropy"] as! Double, accuracy: 1e-4, "\(what) entropy", file: file, line: line)
        XCTAssertEqual(m.rank, ref["rank"] as? Int, "\(what) rank", file: file, line: line)
        if let sv, let want = ref["singular_values"] as? [Double] {
            XCTAssertEqual(sv.count, want.count, "\(what) σ count", file: file, line: line)
            for (g, w) in zip(sv, want) { XCTAssertLessThanOrEqual(abs(g - w), 1e-6 * want[0], "\(what) σ", file: file, line: line) }
        }
    }

    /// torchcrepe-like, every BatchNorm convention: each conv's `metrics` are the stored kernel's
    /// (numpy), its `folded` view is its own BatchNorm folded (numpy), no BatchNorm is left
    /// stand-alone, the classifier comes last, and the bound is ≥ torch's Jacobian norms.
    /// Before issue 16: conv4_BN was folded into conv2 and conv2_BN/conv3_BN were stand-alone
    /// rows; the bound was unavailable ("'conv1' takes 1 channels but the previous layer gives 36").
    func testCrepeLikeRawAndFoldedViews() throws {
        let ref = Self.reference["crepe"] as! [String: Any]
        let ops = ref["operators"] as! [String: [String: Any]]
        for (file, bn) in [("crepe_BN", { (i: Int) in "conv\(i)_BN" }), ("crepe_bn", { "conv\($0)_bn" }),
                           ("crepe_dotbn", { "conv\($0).bn" }), ("crepe_bnN", { "bn\($0)" })] {
            let r = try audit(file + ".safetensors")
            for i in 1...6 {
                let conv = try row(r, "conv\(i)")
                let want = ops["conv\(i)"]!
                assertMetrics(conv.metrics, conv.singularValues, shape: conv.shape, want["raw"] as! [String: Any], "\(file) conv\(i) raw")
                let folded = try XCTUnwrap(conv.folded, "\(file) conv\(i) folded")
                XCTAssertEqual(folded.batchNorm, bn(i), file)
                XCTAssertEqual(conv.foldedBatchNorm, bn(i), file)
                assertMetrics(folded.metrics, folded.singularValues, shape: folded.shape, want["folded"] as! [String: Any],
                              "\(file) conv\(i) folded")
                XCTAssertEqual(try row(r, bn(i)).status, .skipped, "\(file) \(bn(i)) is folded")
            }
            let names = r.layers.map(\.name)
            XCTAssertEqual(names.last, "classifier", file)
            let l = try XCTUnwrap(r.network.lipschitzBound, "\(file): \(r.network.reason ?? "")")
            XCTAssertGreaterThanOrEqual(l, ref["max_jacobian_norm"] as! Double, file)
            // The factors of the product are the folded operators.
            let chain = r.network.chain.filter { $0.kind == "operator" }
            for i in 1...6 {
                let f = try XCTUnwrap(chain.first { $0.layer == "conv\(i)" })
                XCTAssertEqual(f.value, try row(r, "conv\(i)").folded!.operatorNorm!, file)
            }
            XCTAssertTrue(r.network.structure?.guesses.contains { $0.kind == "order" } ?? false, "\(file): the order is a guess")
        }
    }

    /// `fc1, fc1_bn, fc2, fc2_bn` with ‖J(0)‖₂ = 10: before issue 16, "Lipschitz bound L = 1.000"
    /// (fc2_bn folded into fc1). Now L = σ(S₁W₁)·σ(S₂W₂) = numpy's product, ≥ 10.
    func testFcBnBoundIsSound() throws {
        let ref = Self.reference["fc_bn"] as! [String: Any]
        let r = try audit("fc_bn.safetensors")
        let l = try XCTUnwrap(r.network.lipschitzBound)
        XCTAssertGreaterThanOrEqual(l, (ref["jacobian_norm_at_zero"] as! Double) * (1 - 1e-9))
        XCTAssertGreaterThanOrEqual(l, (ref["max_jacobian_norm"] as! Double) * (1 - 1e-9))
        let want = ref["lipschitz_bound"] as! Double
        XCTAssertLessThanOrEqual(abs(l - want), 1e-9 * want, "L \(l) vs numpy \(want)")
        let ops = ref["operators"] as! [String: [String: Any]]
        for name in ["fc1", "fc2"] {
            let fc = try row(r, name)
            XCTAssertEqual(fc.foldedBatchNorm, name + "_bn")
            assertMetrics(fc.metrics, fc.singularValues, shape: fc.shape, ops[name]!["raw"] as! [String: Any], "\(name) raw")
            assertMetrics(fc.folded?.metrics, fc.folded?.singularValues, shape: fc.folded?.shape,
                          ops[name]!["folded"] as! [String: Any], "\(name) folded")
        }
        XCTAssertFalse(r.network.structure?.guesses.contains { $0.kind == "pairing" } ?? true, "paired by name, not guessed")
    }

    /// The probe on the corrected graph measures ‖J(0)‖ = 10 (before: g_J = 1 on the wrong
    /// graph, so "1.0× loose" hid the error).
    func testFcBnProbeMeasuresTheRealJacobian() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-fcbn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A [1, 16] float64 .npy of zeros.
        var header = Array("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 16), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let npy = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count), 0] + header + [UInt8](repeating: 0, count: 128)
        let probe = dir.appendingPathComponent("zero.npy")
        try Data(npy).write(to: probe)
        let r = try audit("fc_bn.safetensors") { $0.data = DataAuditOptions(probePath: probe.path, labelsPath: nil, loss: nil, probeLimit: nil, seed: 0, jobs: 1) }
        let gJ = try XCTUnwrap(r.data?.gJ)
        XCTAssertEqual(gJ, (Self.reference["fc_bn"] as! [String: Any])["jacobian_norm_at_zero"] as! Double, accuracy: 1e-6)
        XCTAssertLessThanOrEqual(gJ, r.network.lipschitzBound! * (1 + 1e-9))
    }

    /// Silero-like: the stored order chains and is kept (before: re-sorted by name, bound unavailable).
    func testStoredOrderIsModelOrder() throws {
        let ref = Self.reference["silero_like"] as! [String: Any]
        let r = try audit("silero_like.safetensors")
        XCTAssertNotNil(r.network.lipschitzBound, r.network.reason ?? "")
        XCTAssertEqual(r.layers.map(\.name), ref["order"] as? [String])
        XCTAssertFalse(r.network.structure?.guesses.contains { $0.kind == "order" } ?? true)
        for (name, want) in ref["operators"] as! [String: [String: Any]] {
            let l = try row(r, name)
            assertMetrics(l.metrics, l.singularValues, shape: l.shape, want["raw"] as! [String: Any], name)
        }
    }

    /// `embedder`, `keypoint_head`, `value_head` are ordinary dense layers (before: the keyword
    /// check fired on 'key' and withheld the bound).
    func testHeadsAreNotKeywords() throws {
        let want = (Self.reference["heads"] as! [String: Any])["lipschitz_bound"] as! Double
        let r = try audit("heads.npz")
        let l = try XCTUnwrap(r.network.lipschitzBound, r.network.reason ?? "")
        XCTAssertLessThanOrEqual(abs(l - want), 1e-9 * want)
    }

    /// PyTorch's 1-D `prelu1.weight` is a PReLU with Lip = max(1, max|α|) = 2.5 (before:
    /// "unrecognised", the chain broken).
    func testTorchPReLU() throws {
        let ref = Self.reference["prelu_torch"] as! [String: Any]
        let r = try audit("prelu_torch.npz")
        let l = try XCTUnwrap(r.network.lipschitzBound, r.network.reason ?? "")
        XCTAssertLessThanOrEqual(abs(l - (ref["lipschitz_bound"] as! Double)), 1e-9 * l)
        XCTAssertEqual(try row(r, "prelu1").activationLipschitz ?? 0, ref["prelu_lipschitz"] as! Double, accuracy: 1e-12)
    }

    /// Every 2-D recurrent matrix of a PyTorch LSTM and GRU gets its spectrum as stored and one
    /// row per gate (i,f,g,o and r,z,n), equal to numpy (before: no σ_max at all).
    func testTorchRecurrentTensorsAndGates() throws {
        let ref = (Self.reference["rnn_torch"] as! [String: Any])["tensors"] as! [String: [String: Any]]
        let r = try audit("rnn_torch.safetensors")
        // Issue 19: the LSTM and GRU enter the bound through their horizon bounds.
        XCTAssertNotNil(r.network.log10LipschitzBound, r.network.reason ?? "")
        XCTAssertEqual(r.network.horizon, RecurrentBounds.defaultHorizon)
        XCTAssertEqual(r.network.recurrent?.count, 2)
        var gates = 0
        for (name, want) in ref where name.contains("_l0") {
            let t = try row(r, name)
            XCTAssertEqual(t.status, .analyzed, name)
            assertMetrics(t.metrics, t.singularValues, shape: t.shape, want["raw"] as! [String: Any], name)
            for (label, g) in (want["gates"] as? [String: [String: Any]]) ?? [:] {
                let gr = try row(r, "\(name):\(label)")
                XCTAssertEqual(gr.gate, label)
                XCTAssertEqual(gr.kind, "recurrent_gate")
                assertMetrics(gr.metrics, gr.singularValues, shape: gr.shape, g, "\(name) gate \(label)")
                gates += 1
            }
        }
        XCTAssertEqual(gates, 2 * 4 + 2 * 3)
    }

    /// The same for a Keras 3 LSTM/GRU (kernel [in, 4u] i,f,c,o; GRU z,r,h), stored in the
    /// layer's `cell` group.
    func testKerasRecurrentTensorsAndGates() throws {
        guard let kref = Self.reference["rnn_keras"] as? [String: Any] else { throw XCTSkip("rnn_keras.keras not generated") }
        let r = try audit("rnn_keras.keras")
        var gates = 0
        for (layer, vars) in kref["layers"] as! [String: [String: [String: Any]]] {
            for (variable, index) in [("kernel", 0), ("recurrent_kernel", 1)] {
                let name = "layers/\(layer)/cell/vars/\(index)"
                let t = try row(r, name)
                XCTAssertEqual(t.orientation, "in_out→transpose", name)
                assertMetrics(t.metrics, t.singularValues, shape: t.shape, vars[variable]!["raw"] as! [String: Any], name)
                for (label, g) in vars[variable]!["gates"] as! [String: [String: Any]] {
                    let gr = try row(r, "\(name):\(label)")
                    assertMetrics(gr.metrics, gr.singularValues, shape: gr.shape, g, "\(layer) \(variable) gate \(label)")
                    gates += 1
                }
            }
            let reason = try row(r, layer).reason ?? ""
            XCTAssertTrue(reason.contains("recurrent"), reason)
            XCTAssertFalse(reason.contains("--arch"), "no manifest type expresses an LSTM: \(reason)")
        }
        XCTAssertEqual(gates, 2 * 4 + 2 * 3)
    }

    /// Tensors an `--arch` manifest leaves out still get their spectrum (before: skipped rows
    /// without metrics).
    func testManifestLeavesTensorsOutButTheyAreAnalysed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-arch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = dir.appendingPathComponent("fc.arch.json")
        try Data("""
        {"schema": "spectral-audit-arch/1", "input_shape": [12],
         "layers": [{"name": "fc", "type": "dense", "weight": "fc.weight", "bias": "fc.bias", "orientation": "out_in"}]}
        """.utf8).write(to: manifest)
        let r = try audit("rnn_torch.safetensors") { $0.manifestPath = manifest.path }
        XCTAssertNotNil(r.network.lipschitzBound)
        XCTAssertEqual(r.network.structure?.declared, true)
        let ref = (Self.reference["rnn_torch"] as! [String: Any])["tensors"] as! [String: [String: Any]]
        let t = try row(r, "lstm.weight_ih_l0")
        XCTAssertEqual(t.status, .analyzed)
        XCTAssertTrue(t.reason?.contains("not referenced by the --arch manifest") == true, t.reason ?? "")
        assertMetrics(t.metrics, t.singularValues, shape: t.shape, ref["lstm.weight_ih_l0"]!["raw"] as! [String: Any], "lstm ih")
        XCTAssertNotNil(r.layers.first { $0.name == "lstm.weight_ih_l0:g" })
    }

    /// `--require-structure declared`: a failed check of its own for inferred structures.
    func testRequireDeclaredStructure() throws {
        let inferred = try audit("fc_bn.safetensors") { $0.requireStructure = .declared }
        let check = try XCTUnwrap(inferred.checks.first { $0.id == "structure.declared" })
        XCTAssertFalse(check.passed)
        XCTAssertEqual(inferred.verdict, .fail)
        let declared = try audit("rnn_keras.keras") { $0.requireStructure = .declared }
        XCTAssertEqual(declared.checks.first { $0.id == "structure.declared" }?.passed, true)
    }
}
