import Foundation
import XCTest
@testable import Audit
import AuditReport
import LinearAlgebra
@testable import SpectralModel
import WeightFiles

/// The data-dependent audit (SPEC.md §5) on the fixture models.
///
/// Tolerances: Hessian–vector products against central differences of exact gradients
/// (h = 1e-7, small enough not to cross ReLU / max-pool kinks on these nets) to 1e-5 relative to ‖Hv‖∞; Lanczos extremes against the eigenvalues of the dense
/// Hessian built column by column from HVPs to 1e-6 relative to the spectral radius; the
/// matrix-free NTK / Gauss–Newton Lanczos against the dense spectra of the materialised
/// parameter Jacobian to 1e-6 relative; SPEC §5 inequalities with a 1e-9 relative slack.
final class DataAuditTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/models")
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: models.appendingPathComponent("reference.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static func lipschitz(_ name: String) -> Double {
        (((reference["models"] as! [String: Any])[name] as! [String: Any])["network"] as! [String: Any])["lipschitz_bound"] as! Double
    }

    static func path(_ f: String) -> String { models.appendingPathComponent(f).path }

    static func setUp(_ file: String) throws -> (any TensorStore, NetworkGraph) {
        let store = try ModelFile.open(path(file))
        var c = AuditConfiguration()
        c.timestamps = false
        return (store, try Auditor.buildGraph(store: store, configuration: c))
    }

    func run(_ file: String, probe: String, labels: String?, _ configure: (inout DataAuditOptions) -> Void = { _ in }) throws -> DataAuditResult {
        let (store, graph) = try Self.setUp(file)
        var o = DataAuditOptions(probePath: Self.path(probe), labelsPath: labels.map(Self.path), seed: 42, jobs: 2)
        configure(&o)
        let name = String(file.split(separator: ".")[0])
        return try DataAudit.run(store: store, graph: graph, options: o, lipschitzBound: Self.lipschitz(name))
    }

    func testSpecInequalitiesAndComponents() throws {
        for (file, probe, labels) in [("mlp.h5", "probe_mlp.npy", "probe_mlp_labels.npy"), ("cnn.h5", "probe_cnn.npy", "probe_cnn_labels.npy"),
                                      ("resnet.h5", "probe_resnet.npy", nil), ("branches.keras", "probe_branches.npy", nil),
                                      ("depthwise.h5", "probe_depthwise.npy", nil)] {
            let r = try run(file, probe: probe, labels: labels)
            let d = r.report
            let name = String(file.split(separator: ".")[0])
            let n = Double(d.probeCount)
            XCTAssertLessThanOrEqual(d.gJ!, Self.lipschitz(name) * (1 + 1e-9), "\(file): g_J ≤ L")
            let gt2 = d.gTheta! * d.gTheta!
            XCTAssertLessThanOrEqual(gt2 / n, d.gK! * (1 + 1e-9), "\(file): g_θ²/N ≤ g_K")
            XCTAssertLessThanOrEqual(d.gK!, gt2 * (1 + 1e-9), "\(file): g_K ≤ g_θ²")
            XCTAssertEqual(Set(r.components.keys), ["g_J", "g_theta", "sqrt_g_K", "sqrt_g_H"])
            let avail = r.components.values.compactMap { $0 }
            XCTAssertEqual(r.gmsi, avail.max())
            XCTAssertEqual(d.boundRatio!, Self.lipschitz(name) / d.gJ!, accuracy: 1e-12)
            XCTAssertEqual(d.perSample.jacobianNorm.count, d.probeCount)
            XCTAssertEqual(d.perSample.attributionInstability.count, d.probeCount)
            XCTAssertTrue(d.perSample.tau.allSatisfy { $0 > 0 && $0 <= 1 + 1e-12 })
            XCTAssertTrue(d.perSample.attributionInstability.allSatisfy { $0 >= 0 && $0 <= 2 })
            XCTAssertGreaterThanOrEqual(d.gaussNewtonLambdaMax!, 0)
            if labels == nil {
                XCTAssertNil(d.gH)
                XCTAssertEqual(d.gHReason, "no labels: only the Gauss–Newton part")
                XCTAssertNil(r.components["sqrt_g_H"]!)
            } else {
                XCTAssertEqual(d.gH!, max(abs(d.hessianLambdaMax!), abs(d.hessianLambdaMin!)))
                XCTAssertEqual(r.components["sqrt_g_H"]!!, d.gH!.squareRoot())
            }
            // The reference's measured maximum over its own 300 samples is not ours; the 4 probe
            // Jacobians' norms are lower bounds of g_J.
        }
    }

    /// g_J, per-sample norms, entropies and τ from the reverse-mode Jacobian equal those of the
    /// reference product form at the reference probes.
    func testJacobianSummariesMatchReference() throws {
        let r = try run("cnn.h5", probe: "probe_cnn.npy", labels: nil) { $0.attributionSamples = 0 }
        let probe = ((Self.reference["models"] as! [String: Any])["cnn"] as! [String: Any])["probe"] as! [String: Any]
        for entry in probe["jacobians"] as! [[String: Any]] {
            let s = entry["index"] as! Int
            let sigma = entry["spectral_norm"] as! Double
            XCTAssertEqual(r.report.perSample.jacobianNorm[s], sigma, accuracy: 1e-9 * sigma)
            let j = (entry["jacobian_product_form"] as! [[Double]]).flatMap { $0 }
            let sv = try SVD.singularValues(Matrix(rows: 5, cols: 192, storage: j)).values
            let m = SpectrumMetrics.compute(singularValues: sv, rows: 5, cols: 192)
            XCTAssertEqual(r.report.perSample.jacobianEntropy[s], m.spectralEntropy!, accuracy: 1e-9)
            XCTAssertEqual(r.report.perSample.tau[s], m.frobenius! / (192.0.squareRoot() * sigma), accuracy: 1e-9)
        }
        XCTAssertEqual(r.report.gJ, r.report.perSample.jacobianNorm.max())
    }

    /// Exact HVPs equal central differences of exact gradients (h = 1e-7).
    func testHessianVectorProductsMatchFiniteDifferences() throws {
        for (file, probe, labels, loss) in [("mlp.h5", "probe_mlp.npy", "probe_mlp_labels.npy", LossKind.crossEntropy),
                                            ("cnn.h5", "probe_cnn.npy", "probe_cnn_labels.npy", LossKind.crossEntropy),
                                            ("cnn.h5", "probe_cnn.npy", "probe_cnn_labels.npy", LossKind.mse),
                                            ("depthwise.h5", "probe_depthwise.npy", nil, LossKind.mse)] {
            let (store, graph) = try Self.setUp(file)
            let model = try ForwardModel(graph: graph, store: store)
            let ps = try NPYTensorStore(path: Self.path(probe))
            let n = min(8, ps.tensors[0].shape[0]), d = model.inputDimension, C = model.outputCount, P = model.parameterCount
            let x = Array(try ps.loadFloat64(ps.tensors[0].name).prefix(n * d))
            var targets: [Double]
            if let labels {
                targets = try DataAudit.loadTargets(path: Self.path(labels), count: n, classes: C, requested: loss).targets
            } else {
                var rng = SplitMix64(seed: 3)
                targets = (0..<(n * C)).map { _ in rng.nextSigned() }
            }
            func gradient(_ m: ForwardModel) -> [Double] {
                let tape = m.forward(x, count: n)
                let probs = (0..<n).flatMap { DataAudit.softmax(Array(tape.output[($0 * C)..<(($0 + 1) * C)])) }
                let g = DataAudit.lossGradients(logits: tape.output, probs: probs, targets: targets, n: n, C: C, loss: loss)
                return m.backward(tape, seed: g.map { $0 / Double(n) }, request: BackwardRequest(parameterGradient: true)).parameterGradient!
            }
            let tape = model.forward(x, count: n)
            let probs = (0..<n).flatMap { DataAudit.softmax(Array(tape.output[($0 * C)..<(($0 + 1) * C)])) }
            let grad = DataAudit.lossGradients(logits: tape.output, probs: probs, targets: targets, n: n, C: C, loss: loss)
            var rng = SplitMix64(seed: 11)
            for _ in 0..<2 {
                let v = (0..<P).map { _ in rng.nextSigned() }
                let hv = try DataAudit.hessianVectorProduct(model: model, tapes: [tape], chunks: [(0, n)], v: v, gradient: grad,
                                                            probs: probs, targets: targets, C: C, n: n, loss: loss, jobs: 1)
                // Small h: these nets are piecewise linear (relu, max-pool, PReLU); at h = 1e-5 the
                // differences straddle kinks now and then (errors of order 1/h), at 1e-7 they do not here.
                let h = 1e-7
                let gp = gradient(model.withParameters(zip(model.parameters, v).map { $0 + h * $1 }))
                let gm = gradient(model.withParameters(zip(model.parameters, v).map { $0 - h * $1 }))
                let fd = zip(gp, gm).map { ($0 - $1) / (2 * h) }
                let scale = hv.map(abs).max()!
                let err = zip(hv, fd).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(err, 1e-5 * scale, "\(file) \(loss): |Hv − FD| = \(err), ‖Hv‖∞ = \(scale)")
            }
        }
    }

    /// Lanczos extremes equal the dense Hessian's eigenvalues (dense H from P HVPs, its eigenvalues
    /// as singular values of H + cI with c > ‖H‖).
    func testLanczosExtremesEqualDenseHessianEigenvalues() throws {
        let (store, graph) = try Self.setUp("mlp.h5")
        let model = try ForwardModel(graph: graph, store: store)
        let ps = try NPYTensorStore(path: Self.path("probe_mlp.npy"))
        let n = 16, d = model.inputDimension, C = model.outputCount, P = model.parameterCount
        let x = Array(try ps.loadFloat64(ps.tensors[0].name).prefix(n * d))
        let targets = try DataAudit.loadTargets(path: Self.path("probe_mlp_labels.npy"), count: n, classes: C, requested: nil).targets
        let tape = model.forward(x, count: n)
        let probs = (0..<n).flatMap { DataAudit.softmax(Array(tape.output[($0 * C)..<(($0 + 1) * C)])) }
        let grad = DataAudit.lossGradients(logits: tape.output, probs: probs, targets: targets, n: n, C: C, loss: .crossEntropy)
        func hvp(_ v: [Double]) throws -> [Double] {
            try DataAudit.hessianVectorProduct(model: model, tapes: [tape], chunks: [(0, n)], v: v, gradient: grad, probs: probs,
                                               targets: targets, C: C, n: n, loss: .crossEntropy, jobs: 1)
        }
        var h = [Double](repeating: 0, count: P * P)
        for j in 0..<P {
            var e = [Double](repeating: 0, count: P)
            e[j] = 1
            let col = try hvp(e)
            for i in 0..<P { h[i * P + j] = col[i] }
        }
        var asym = 0.0
        for i in 0..<P { for j in 0..<i { asym = max(asym, abs(h[i * P + j] - h[j * P + i])) } }
        let fro = h.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertLessThanOrEqual(asym, 1e-12 * fro, "HVPs are symmetric")
        let c = fro + 1
        var shifted = h
        for i in 0..<P { shifted[i * P + i] += c }
        let sv = try SVD.singularValues(Matrix(rows: P, cols: P, storage: shifted), method: .gesdd).values
        let lmax = sv.first! - c, lmin = sv.last! - c
        let lr = try Lanczos.symmetricExtremes(dimension: P, tolerance: 1e-10, maxIterations: P, seed: 5) { try hvp($0) }
        let radius = max(abs(lmax), abs(lmin))
        XCTAssertEqual(lr.lambdaMax, lmax, accuracy: 1e-6 * radius)
        XCTAssertEqual(lr.lambdaMin, lmin, accuracy: 1e-6 * radius)
        XCTAssertLessThan(lmin, 0, "the CE Hessian of a trained-one-step MLP is indefinite here")
        // The audit reports the same.
        let r = try run("mlp.h5", probe: "probe_mlp.npy", labels: "probe_mlp_labels.npy") {
            $0.probeLimit = n
            $0.lanczosTolerance = 1e-10
            $0.attributionSamples = 0
        }
        XCTAssertEqual(r.report.hessianLambdaMax!, lmax, accuracy: 1e-6 * radius)
        XCTAssertEqual(r.report.hessianLambdaMin!, lmin, accuracy: 1e-6 * radius)
    }

    func testTridiagonalEigenAgainstDense() throws {
        var rng = SplitMix64(seed: 9)
        let k = 30
        let a = (0..<k).map { _ in rng.nextSigned() }, b = (0..<(k - 1)).map { _ in rng.nextSigned() }
        let (vals, _) = try Lanczos.tridiagonalEigen(diagonal: a, offDiagonal: b)
        var t = [Double](repeating: 0, count: k * k)
        for i in 0..<k { t[i * k + i] = a[i] + 10 }
        for i in 0..<(k - 1) { t[i * k + i + 1] = b[i]; t[(i + 1) * k + i] = b[i] }
        let sv = try SVD.singularValues(Matrix(rows: k, cols: k, storage: t), method: .gesdd).values.map { $0 - 10 }.sorted()
        for (x, y) in zip(vals, sv) { XCTAssertEqual(x, y, accuracy: 1e-12) }
    }

    /// The matrix-free NTK and Gauss–Newton Lanczos (products J_S(J_Sᵀv) through reverse and
    /// forward mode) equal the dense spectra of the materialised parameter Jacobian.
    func testMatrixFreeNTKEqualsDense() throws {
        for (file, probe, labels) in [("cnn.h5", "probe_cnn.npy", "probe_cnn_labels.npy"), ("resnet.h5", "probe_resnet.npy", nil)] {
            let dense = try run(file, probe: probe, labels: labels) { $0.attributionSamples = 0; $0.skipHessian = true; $0.probeLimit = 12 }
            let free = try run(file, probe: probe, labels: labels) {
                $0.attributionSamples = 0; $0.skipHessian = true; $0.probeLimit = 12
                $0.explicitJacobianLimit = 0; $0.lanczosTolerance = 1e-10; $0.chunkSize = 5
            }
            XCTAssertTrue(dense.notes.contains { $0.contains("dense, from the materialised") })
            XCTAssertEqual(free.report.gK!, dense.report.gK!, accuracy: 1e-6 * dense.report.gK!, file)
            XCTAssertEqual(free.report.ntkLambdaMin!, dense.report.ntkLambdaMin!, accuracy: 1e-6 * dense.report.gK!, file)
            XCTAssertEqual(free.report.gaussNewtonLambdaMax!, dense.report.gaussNewtonLambdaMax!,
                           accuracy: 1e-6 * dense.report.gaussNewtonLambdaMax!, file)
            XCTAssertEqual(free.report.gTheta, dense.report.gTheta)
        }
    }

    /// Closed-form NTK blocks `Σ_l (⟨h,h'⟩ + 1) B_l B_l'ᵀ` of a dense network equal `J_θ J_θᵀ` built
    /// from the explicit parameter gradients, for pairs of different probes too.
    func testClosedFormNTKEqualsExplicit() throws {
        let (store, graph) = try Self.setUp("mlp.h5")
        let model = try ForwardModel(graph: graph, store: store)
        let ps = try NPYTensorStore(path: Self.path("probe_mlp.npy"))
        let n = 3, d = model.inputDimension, C = model.outputCount, P = model.parameterCount
        let x = Array(try ps.loadFloat64(ps.tensors[0].name).prefix(n * d))
        let tape = model.forward(x, count: n)
        var seed = [Double](repeating: 0, count: n * C * C)
        for r in 0..<(n * C) { seed[r * C + r % C] = 1 }
        let res = model.backward(tape, seed: seed, rowsPerSample: C, request: BackwardRequest(perRowParameterGradients: true))
        let js = res.perRowParameterGradients!
        // B_l(x) = cotangent rows at each dense output (pre-activation); h_{l-1} = its input.
        let denseOps = model.ops.enumerated().filter { $0.element.op is DenseOp }
        // B_l from the per-row bias gradients (∂f/∂b_l = B_l), h_{l−1} from the tape.
        for i in 0..<n {
            for j in 0..<n {
                for a in 0..<C {
                    for b in 0..<C {
                        var closed = 0.0
                        for (k, op) in denseOps {
                            guard let spec = op.op as? DenseOp, spec.hasBias else { continue }
                            let bo = op.paramOffset + spec.outCount * spec.inCount
                            let hin = tape.values[op.inputs[0]], w = spec.inCount
                            var hh = 1.0
                            for e in 0..<w { hh += hin[i * w + e] * hin[j * w + e] }
                            var bb = 0.0
                            for o in 0..<spec.outCount { bb += js[(i * C + a) * P + bo + o] * js[(j * C + b) * P + bo + o] }
                            closed += hh * bb
                            _ = k
                        }
                        var explicit = 0.0
                        for q in 0..<P { explicit += js[(i * C + a) * P + q] * js[(j * C + b) * P + q] }
                        XCTAssertEqual(closed, explicit, accuracy: 1e-12 * max(1, abs(explicit)))
                    }
                }
            }
        }
    }

    /// Results do not depend on the number of threads or the batch size; attribution is seeded.
    func testDeterministicAcrossJobs() throws {
        let a = try run("cnn.h5", probe: "probe_cnn.npy", labels: "probe_cnn_labels.npy") { $0.jobs = 1; $0.probeLimit = 10 }
        let b = try run("cnn.h5", probe: "probe_cnn.npy", labels: "probe_cnn_labels.npy") { $0.jobs = 2; $0.probeLimit = 10 }
        XCTAssertEqual(a.report, b.report)
        let c = try run("cnn.h5", probe: "probe_cnn.npy", labels: "probe_cnn_labels.npy") { $0.jobs = 2; $0.probeLimit = 10; $0.seed = 43 }
        XCTAssertNotEqual(a.report.perSample.attributionInstability, c.report.perSample.attributionInstability)
        XCTAssertEqual(a.report.gJ, c.report.gJ)
    }

    func testProbeLayoutConversionAndErrors() throws {
        // NCHW probes for the channels-last Keras CNN are transposed (shape [3, 8, 8] is unambiguous).
        let ps = try NPYTensorStore(path: Self.path("probe_cnn.npy"))
        let x = try ps.loadFloat64(ps.tensors[0].name)
        let n = 4
        var nchw = [Double](repeating: 0, count: n * 192)
        for s in 0..<n { for c in 0..<3 { for p in 0..<64 { nchw[s * 192 + c * 64 + p] = x[s * 192 + p * 3 + c] } } }
        let path = NSTemporaryDirectory() + "probe_nchw_\(getpid()).npy"
        try writeNPY(nchw, shape: [n, 3, 8, 8], to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (store, graph) = try Self.setUp("cnn.h5")
        let converted = try DataAudit.run(store: store, graph: graph, options: DataAuditOptions(probePath: path, attributionSamples: 0, jobs: 1),
                                          lipschitzBound: nil)
        XCTAssertTrue(converted.notes.contains { $0.contains("channels-first; converted") }, "\(converted.notes)")
        let direct = try run("cnn.h5", probe: "probe_cnn.npy", labels: nil) { $0.probeLimit = n; $0.attributionSamples = 0; $0.jobs = 1 }
        XCTAssertEqual(converted.report.perSample.jacobianNorm, direct.report.perSample.jacobianNorm)
        // Wrong shape.
        XCTAssertThrowsError(try run("cnn.h5", probe: "probe_mlp.npy", labels: nil)) { XCTAssertTrue("\($0)".contains("do not fit")) }
    }

    func writeNPY(_ v: [Double], shape: [Int], to path: String) throws {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let len = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(len & 0xff), UInt8(len >> 8)])
        data.append(contentsOf: Array(header.utf8))
        v.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
