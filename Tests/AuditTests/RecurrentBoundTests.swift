import Foundation
import XCTest
@testable import Audit
import AuditReport
import SpectralModel

/// Issue 19: LSTM/GRU/RNN horizon bounds on the files of `fixtures/recurrent/` (torch 2.13 nn.LSTM /
/// nn.GRU / nn.RNN (tanh, relu) and nn.LSTMCell / nn.GRUCell / nn.RNNCell state dicts, Keras 3
/// LSTM/GRU/SimpleRNN), against `fixtures/recurrent/reference.json` made by
/// `fixtures/recurrent/generate_recurrent.py` and `generate_recurrent_cells.py`: torch float64 autograd Jacobians of the whole
/// input sequence (numpy SVD) on random sequences at T = 10 and 50, and numpy float64 gate σ_max.
/// Soundness: bound ≥ measured (no tolerance needed: a bound below a measurement is a bug).
/// Gate spectra: 1e-6 relative. The recursion itself: closed forms to 1e-12 relative.
final class RecurrentBoundTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/recurrent")
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("reference.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static var files: [String: [String: Any]] { reference["files"] as! [String: [String: Any]] }

    func audit(_ file: String, horizon: Int) throws -> AuditReportV1 {
        var c = AuditConfiguration()
        c.timestamps = false
        c.jobs = 2
        c.horizon = horizon
        return try Auditor.run(path: Self.root.appendingPathComponent(file).path, configuration: c)
    }

    /// Every fixture, T = 10 and 50: the layer's horizon bound (and the network bound through
    /// it, labelled with T) is ≥ torch's largest measured input-sequence Jacobian norm, for the
    /// output the layer has (sequence or final state); every direction's final-state bound is
    /// ≥ the measured final-state norm of single-direction single-layer files.
    func testHorizonBoundIsAtLeastTorchsMeasuredJacobianNorm() throws {
        XCTAssertEqual(Self.files.count, 22)
        for (file, ref) in Self.files.sorted(by: { $0.key < $1.key }) {
            let measured = ref["measured"] as! [String: [String: Double]]
            var previous = -Double.infinity
            for T in [10, 50] {
                let r = try audit(file, horizon: T)
                let rec = try XCTUnwrap(r.network.recurrent?.first, file)
                XCTAssertEqual(rec.horizon, T)
                XCTAssertEqual(rec.output, ref["output"] as? String, file)
                let lg = try XCTUnwrap(rec.log10LipschitzBound, "\(file): \(rec.reason ?? "")")
                let want = measured[String(T)]![rec.output]!
                XCTAssertGreaterThanOrEqual(lg, log10(want), "\(file) T=\(T): bound 10^\(lg) < measured \(want)")
                XCTAssertGreaterThanOrEqual(lg, log10(measured[String(T)]!["final_state"]!), "\(file) T=\(T) final state")
                // The network bound is the recurrent factor here (one layer), labelled with T.
                // (ONNX: torch's export follows the node with Transpose + Reshape.)
                if let net = r.network.log10LipschitzBound {
                    XCTAssertEqual(r.network.horizon, T, file)
                    XCTAssertEqual(net, lg, accuracy: 1e-12, file)
                    XCTAssertTrue(r.assumptions.contains { $0.contains("T = \(T)") }, file)
                } else {
                    XCTAssertEqual(ref["framework"] as? String, "onnx", "\(file): \(r.network.reason ?? "")")
                }
                if rec.directions.count == 1 {
                    XCTAssertGreaterThanOrEqual(rec.directions[0].log10BoundFinalState, log10(measured[String(T)]!["final_state"]!), file)
                }
                for d in rec.directions {
                    XCTAssertGreaterThanOrEqual(d.log10BoundSequence, d.log10BoundFinalState - 1e-12, "\(file) \(d.name)")
                    XCTAssertEqual(d.cell, ref["cell"] as? String, file)
                }
                XCTAssertGreaterThanOrEqual(lg, previous, "\(file): the bound must not shrink with T")
                previous = lg
            }
        }
    }

    /// Per-gate rows of every recurrent matrix equal numpy's gate σ_max (1e-6 relative), in
    /// each framework's gate order.
    func testGateSpectraEqualNumpy() throws {
        var checked = 0
        for (file, ref) in Self.files {
            let r = try audit(file, horizon: 10)
            let gates = ref["gates"] as! [String: [String: Double]]
            for (tensor, byGate) in gates {
                // Keras 3 stores a layer's weights in the group named after its class (`layers/lstm/cell/vars`,
                // `layers/simple_rnn/cell/vars`): kernel = vars/0, recurrent_kernel = vars/1.
                let group = ["lstm": "lstm", "gru": "gru", "rnn": "simple_rnn"][ref["cell"] as! String]!
                let name = ref["framework"] as? String == "keras" ? "layers/\(group)/cell/vars/\(tensor == "kernel" ? 0 : 1)" : tensor
                for (label, want) in byGate {
                    // A plain RNN's matrix is one block: its own row (`raw`).
                    let rowName = label == "raw" ? name : "\(name):\(label)"
                    let row = try XCTUnwrap(r.layers.first { $0.name == rowName }, "\(file): no row \(rowName)")
                    let got = try XCTUnwrap(row.metrics?.spectralNorm)
                    XCTAssertLessThanOrEqual(abs(got - want), 1e-6 * want, "\(file) \(name):\(label) \(got) vs \(want)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    /// The recursion against closed forms: a GRU is the scalar recursion η_t ≤ ρη_{t−1} + aξ_t,
    /// so K is Toeplitz with k_{t,s} = a ρ^{t−s}; an LSTM's first step is its input column.
    func testRecursionClosedForms() throws {
        let gru = RecurrentCellNorms(cell: .gru, input: ["r": 0.3, "z": 0.5, "n": 0.7], recurrent: ["r": 0.2, "z": 0.4, "n": 0.6],
                                     resetCoupling: 1.5)
        let rho = 1 + 0.6 + 1.5 * 0.2 / 4 + 0.4 / 2, a = 0.7 + 1.5 * 0.3 / 4 + 0.5 / 2
        let b1 = try RecurrentHorizonBound.compute(gru, horizon: 1)
        XCTAssertEqual(exp(b1.logSequence), a, accuracy: 1e-12 * a)
        XCTAssertEqual(b1.spectralRadius, rho, accuracy: 1e-12)
        XCTAssertFalse(b1.contractive)
        let b2 = try RecurrentHorizonBound.compute(gru, horizon: 2)
        // K = a [[1, 0], [ρ, 1]]: final state a sqrt(1 + ρ²); σ_max of [[1,0],[ρ,1]] = (ρ + sqrt(ρ² + 4)) / 2.
        XCTAssertEqual(exp(b2.logFinal), a * (1 + rho * rho).squareRoot(), accuracy: 1e-12 * a * rho)
        XCTAssertEqual(exp(b2.logSequence), a * (rho + (rho * rho + 4).squareRoot()) / 2, accuracy: 1e-12 * a * rho)
        let b60 = try RecurrentHorizonBound.compute(gru, horizon: 60)
        XCTAssertEqual(b60.logFinal, log(a) + 0.5 * log((pow(rho, 120) - 1) / (rho * rho - 1)), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(b60.growthPerStep), rho, accuracy: 0.05 * rho)

        let lstm = RecurrentCellNorms(cell: .lstm, input: ["i": 1, "f": 2, "g": 3, "o": 4], recurrent: ["i": 0.5, "f": 0.5, "g": 0.5, "o": 0.5],
                                      projection: 0.5)
        let l1 = try RecurrentHorizonBound.compute(lstm, horizon: 1)
        XCTAssertEqual(exp(l1.logSequence), 0.5 * (1.0 / 4 + 3 + 4.0 / 4), accuracy: 1e-12)
        // Step 2 (c_1 ≤ 1): M_2 = [[π(B + β_o/4), π], [B, 1]] with B = β_i/4 + β_f/4 + β_g.
        let l2 = try RecurrentHorizonBound.compute(lstm, horizon: 2)
        let B = 0.5 / 4 + 0.5 / 4 + 0.5, n1 = (0.5 * (0.25 + 3 + 1), 0.25 + 3.0)
        let k21 = 0.5 * (B + 0.5 / 4) * n1.0 + 0.5 * n1.1
        let A2 = 0.25 + 2.0 / 4 + 3, k22 = 0.5 * (A2 + 1)
        XCTAssertEqual(exp(l2.logFinal), max((k21 * k21 + k22 * k22).squareRoot(), n1.0), accuracy: 1e-12 * k22)
        XCTAssertGreaterThanOrEqual(l2.spectralRadius, 1, "an LSTM's c→c entry is 1")

        // Plain RNN: η_t ≤ βη_{t−1} + αξ_t, K Toeplitz with k_{t,s} = αβ^{t−s}; contractive iff β < 1,
        // then the final-state bound tends to α/sqrt(1 − β²) and the sequence bound stays ≤ α/(1 − β).
        let (alpha, beta) = (0.7, 0.5)
        let rnn = RecurrentCellNorms(cell: .rnn, input: ["h": alpha], recurrent: ["h": beta])
        let r1 = try RecurrentHorizonBound.compute(rnn, horizon: 1)
        XCTAssertEqual(exp(r1.logSequence), alpha, accuracy: 1e-12)
        let r2 = try RecurrentHorizonBound.compute(rnn, horizon: 2)
        XCTAssertEqual(exp(r2.logFinal), alpha * (1 + beta * beta).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(exp(r2.logSequence), alpha * (beta + (beta * beta + 4).squareRoot()) / 2, accuracy: 1e-12)
        XCTAssertEqual(r2.spectralRadius, beta, accuracy: 1e-15)
        XCTAssertTrue(r2.contractive)
        let r300 = try RecurrentHorizonBound.compute(rnn, horizon: 300)
        XCTAssertEqual(exp(r300.logFinal), alpha / (1 - beta * beta).squareRoot(), accuracy: 1e-12)
        XCTAssertLessThanOrEqual(exp(r300.logSequence), alpha / (1 - beta) * (1 + 1e-12))
        XCTAssertGreaterThan(exp(r300.logSequence), 0.99 * alpha / (1 - beta))
        let expanding = try RecurrentHorizonBound.compute(RecurrentCellNorms(cell: .rnn, input: ["h": alpha], recurrent: ["h": 1.5]), horizon: 40)
        XCTAssertFalse(expanding.contractive)
        XCTAssertEqual(expanding.logFinal, log(alpha) + 0.5 * log((pow(1.5, 80) - 1) / (1.5 * 1.5 - 1)), accuracy: 1e-9)
    }

    /// A GRU with small recurrent weights (×0.05): its ℓ∞ gain γ_h < 1, so it is reported
    /// contractive and its final-state bound √H γ_x min(1/(1 − γ_h), √T) stops growing once
    /// √T ≥ 1/(1 − γ_h): the same at T = 50 and 1000 (uniform in T), while every other fixture
    /// is not provably contractive.
    func testContractiveGRUHasAUniformFinalStateBound() throws {
        var finals: [Double] = []
        for T in [10, 50, 1000] {
            let d = try XCTUnwrap(try audit("gru_torch_contractive.safetensors", horizon: T).network.recurrent?.first?.directions.first)
            XCTAssertTrue(d.contractive)
            XCTAssertLessThan(d.spectralRadius, 1)
            finals.append(d.log10BoundFinalState)
        }
        XCTAssertLessThanOrEqual(finals[0], finals[1])
        XCTAssertEqual(finals[2], finals[1], accuracy: 1e-12)
        // The uniform bound is still ≥ torch's measurements (checked for T = 10, 50 above) and
        // far tighter than the l2 route's: below 10 here.
        XCTAssertLessThan(finals[0], 1)
        for file in Self.files.keys where !file.contains("contractive") {
            let r = try audit(file, horizon: 10)
            XCTAssertTrue(r.network.recurrent!.first!.directions.allSatisfy { !$0.contractive }, file)
        }
    }

    /// A plain RNN (relu) whose σ_max(W_hh) = β < 1 contracts in ℓ2: reported contractive with
    /// spectral radius β, its final-state bound converges (α sqrt(Σ_{k<T} β^{2k}) → α/sqrt(1 − β²))
    /// and its sequence bound stays below α/(1 − β) (Young), so T = 1000 and T = 50 agree to the
    /// β^100 tail; the relu RNNs with β > 1 are not contractive and grow.
    func testContractiveRNNHasAUniformBound() throws {
        var d: [RecurrentDirectionV1] = []
        for T in [50, 1000] {
            let r = try audit("rnn_torch_contractive.safetensors", horizon: T)
            d.append(try XCTUnwrap(r.network.recurrent?.first?.directions.first))
            XCTAssertTrue(r.assumptions.contains { $0.contains("tanh or relu") && $0.contains("1-Lipschitz") }, "\(r.assumptions)")
        }
        XCTAssertEqual(d.map(\.cell), ["rnn", "rnn"])
        XCTAssertTrue(d[0].contractive && d[1].contractive)
        XCTAssertLessThan(d[0].spectralRadius, 1)
        XCTAssertEqual(d[1].log10BoundFinalState, d[0].log10BoundFinalState, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(d[1].log10BoundSequence - d[0].log10BoundSequence, log10(1 / (1 - d[0].spectralRadius)))
        let relu = try XCTUnwrap(try audit("rnn_torch_relu.safetensors", horizon: 50).network.recurrent?.first)
        XCTAssertTrue(relu.directions.allSatisfy { !$0.contractive && $0.spectralRadius > 1 && $0.cell == "rnn" })
        XCTAssertEqual(relu.directions.map(\.name), ["l0", "l0_reverse", "l1", "l1_reverse"])
    }

    /// Cell state dicts (`weight_ih`, no `_l{k}`): one direction named `cell`, the cell kind from
    /// the shapes, the assumption (a loop applying the cell over T steps) stated.
    func testCellStateDictsAreNamedAndStated() throws {
        for (file, cell) in [("lstm_cell_torch", "lstm"), ("gru_cell_torch", "gru"), ("rnn_cell_torch", "rnn")] {
            let r = try audit(file + ".safetensors", horizon: 10)
            let rec = try XCTUnwrap(r.network.recurrent?.first, file)
            XCTAssertEqual(rec.directions.map(\.name), ["cell"], file)
            XCTAssertEqual(rec.directions.first?.cell, cell, file)
            XCTAssertTrue(r.assumptions.contains { $0.contains("Cell module") && $0.contains("loop") }, "\(file): \(r.assumptions)")
        }
        XCTAssertEqual(try audit("gru_cell_torch.safetensors", horizon: 10).network.recurrent?.first?.layer, "encoder.rnn_cell")
    }

    /// Tensors that do not fit together (`generate_hostile_recurrent.py`): the recurrent entry
    /// and the network bound say why there is no bound; nothing traps.
    func testHostileRecurrentTensorsGiveAReason() throws {
        for (file, words) in [("hostile-gru-short-bias", "bias_hh_l0 has 7 values"),
                              ("hostile-lstm-nan", "non-finite"),
                              ("hostile-lstm-proj-mismatch", "weight_hr_l0 [3, 8] is not [4, 8]"),
                              ("hostile-cell-two-gates", "weight_hh [10, 5] stacks 2 gates of 5 rows: not an LSTM (4), GRU (3) or plain RNN (1)"),
                              ("hostile-cell-rows", "weight_ih [24, 4] and weight_hh [18, 6] stack different numbers of rows"),
                              ("hostile-rnn-projection", "weight_hh_l0 [8, 4] stacks 1 gates of 8 rows with a projection")] {
            let r = try audit(file + ".safetensors", horizon: 10)
            let rec = try XCTUnwrap(r.network.recurrent?.first, file)
            XCTAssertNil(rec.log10LipschitzBound, file)
            XCTAssertTrue(rec.reason?.contains(words) == true, "\(file): \(rec.reason ?? "")")
            XCTAssertNil(r.network.log10LipschitzBound, file)
            XCTAssertNil(r.network.horizon, file)
        }
    }

    /// Horizons far beyond Float64 stay finite in log space (the Schur path beyond 400 steps).
    func testLongHorizonInLogSpace() throws {
        let lstm = RecurrentCellNorms(cell: .lstm, input: ["i": 1, "f": 1, "g": 1, "o": 1], recurrent: ["i": 1, "f": 1, "g": 1, "o": 1])
        let b = try RecurrentHorizonBound.compute(lstm, horizon: 600)
        XCTAssertTrue(b.logSequence.isFinite && b.logSequence / M_LN10 > 308, "\(b.logSequence)")
        let exact = try RecurrentHorizonBound.compute(lstm, horizon: 400)
        XCTAssertLessThan(exact.logSequence, b.logSequence)
    }

    /// An LSTM state dict whose structure is inferred (PyTorch names) chains into a linear head:
    /// the network bound is available, labelled with the horizon, and the typical bounds say why
    /// they are not.
    func testInferredLSTMThenLinearHasAHorizonBound() throws {
        let structure = Self.root.deletingLastPathComponent().appendingPathComponent("structure/rnn_torch.safetensors")
        var c = AuditConfiguration()
        c.timestamps = false
        c.horizon = 20
        let r = try Auditor.run(path: structure.path, configuration: c)
        XCTAssertNotNil(r.network.log10LipschitzBound, r.network.reason ?? "")
        XCTAssertEqual(r.network.horizon, 20)
        XCTAssertEqual(r.network.recurrent?.map(\.layer), ["lstm", "gru"])
        XCTAssertTrue(r.network.chain.contains { $0.kind == "recurrent" })
        XCTAssertNil(r.network.typicalBound)
        XCTAssertTrue(r.network.typicalBoundReason?.contains("LSTM/GRU") == true)
        let lstmRow = try XCTUnwrap(r.layers.first { $0.name == "lstm" })
        XCTAssertTrue(lstmRow.reason?.contains("T = 20") == true, lstmRow.reason ?? "")
    }
}
