import Foundation
import AuditReport
import ModelBuilder
import SpectralModel
import WeightFiles

/// The horizon bound of every LSTM/GRU/plain-RNN layer of a graph (issue 19) — PyTorch modules
/// and Cell modules (names by `TorchRecurrentKey`), Keras LSTM/GRU/SimpleRNN, ONNX LSTM/GRU: per direction by
/// `RecurrentHorizonBound`, composed over a layer's directions and stacked layers.
/// - Directions of one stacked layer (bidirectional): their outputs are concatenated per step,
///   so the layer's bound is `sqrt(L_fwd² + L_rev²)`.
/// - Stacked layers: layer k+1 reads the output sequence of layer k, so the bounds multiply
///   (sequence bounds; only the last layer's output may be the final state).
/// - Output: PyTorch modules and ONNX nodes return every step's output (the sequence bound,
///   which also bounds the final state); Keras layers with `return_sequences=False` return the
///   final state (the final-state bound).
/// A relative margin of 1e-9 covers the rounding of the σ's and of the recursion.
public enum RecurrentBounds {
    /// `--horizon` default.
    public static let defaultHorizon = 100
    static let margin = 1e-9

    struct Result {
        var report: RecurrentBoundV1
        /// ln of the layer's factor, nil when unavailable (`report.reason`).
        var logFactor: Double?
        /// Assumptions the bound rests on beyond zero initial states (ONNX computed initial states).
        var notes: [String] = []
    }

    /// The recurrent layers of `graph` (keyed by node index); nodes of other kinds are absent.
    static func compute(graph: NetworkGraph, store: any TensorStore, horizon: Int) -> [Int: Result] {
        var out: [Int: Result] = [:]
        for (i, node) in graph.nodes.enumerated() {
            guard case .unsupported(let cls, let refs) = node.kind else { continue }
            let directions: Result?
            do {
                if graph.source == "keras_config", cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN" {
                    if node.attributes["stateful"] == "true" {
                        throw RecurrentCells.Unsupported(reason: "stateful=True: the bound assumes zero initial states")
                    }
                    let d = try RecurrentCells.keras(className: cls, refs: refs, store: store, attributes: node.attributes)
                    let sequences = node.attributes["return_sequences"] == "true"
                    directions = try compose(node.name, [d], horizon: horizon, finalState: !sequences)
                } else if graph.source == "onnx_graph", let op = node.attributes["onnx.op"], op == "LSTM" || op == "GRU" {
                    let (dirs, notes) = try RecurrentCells.onnx(layer: node.name, attributes: node.attributes, store: store)
                    var r = try compose(node.name, dirs, horizon: horizon, finalState: false)
                    r.notes = notes
                    directions = r
                } else if let key = TorchRecurrentKey.keys(in: refs.map(\.name)).first {
                    let dirs = try RecurrentCells.pytorch(refs: refs, store: store)
                    var r = try compose(node.name, dirs, horizon: horizon, finalState: false)
                    if key.isCell {
                        r.notes.append("PyTorch \(dirs[0].norms.cell.rawValue.uppercased())Cell '\(node.name)' (a Cell module: weight_ih/weight_hh with no _l{k}): the horizon bound is that of the cell applied over T steps from a zero state by a loop that returns every step's h (the same recursion as the corresponding module)")
                    }
                    if dirs.contains(where: { $0.norms.cell == .rnn }) {
                        r.notes.append("PyTorch plain RNN '\(node.name)': the nonlinearity (tanh or relu) is not stored in a state dict; the horizon bound uses only that both are 1-Lipschitz and no bound on the hidden state, so it holds for either (relu's hidden state is unbounded)")
                    }
                    directions = r
                } else {
                    directions = nil
                }
            } catch let e as RecurrentCells.Unsupported {
                directions = Result(report: RecurrentBoundV1(layer: node.name, horizon: horizon, output: "sequence",
                                                             reason: "no horizon bound for '\(node.name)': " + e.reason), logFactor: nil)
            } catch {
                directions = Result(report: RecurrentBoundV1(layer: node.name, horizon: horizon, output: "sequence",
                                                             reason: "no horizon bound for '\(node.name)': \(error)"), logFactor: nil)
            }
            if let directions { out[i] = directions }
        }
        return out
    }

    static func compose(_ layer: String, _ dirs: [RecurrentDirection], horizon: Int, finalState: Bool) throws -> Result {
        var reports: [RecurrentDirectionV1] = []
        var byLayer: [Int: [Double]] = [:]
        let lastLayer = dirs.map(\.layer).max() ?? 0
        for d in dirs {
            let b = try RecurrentHorizonBound.compute(d.norms, horizon: horizon)
            reports.append(RecurrentDirectionV1(name: d.name, cell: d.norms.cell.rawValue,
                                                log10BoundSequence: (b.logSequence + margin) / M_LN10,
                                                log10BoundFinalState: (b.logFinal + margin) / M_LN10,
                                                spectralRadius: b.spectralRadius, contractive: b.contractive,
                                                growthPerStep: b.growthPerStep))
            byLayer[d.layer, default: []].append(finalState && d.layer == lastLayer ? b.logFinal : b.logSequence)
        }
        let log = byLayer.values.reduce(0.0) { acc, logs in acc + 0.5 * RecurrentHorizonBound.logSumExp(logs.map { 2 * $0 }) } + margin
        var r = RecurrentBoundV1(layer: layer, horizon: horizon, output: finalState ? "final_state" : "sequence", directions: reports)
        r.log10LipschitzBound = log / M_LN10
        r.lipschitzBound = exp(log).isFinite ? exp(log) : nil
        return Result(report: r, logFactor: log)
    }
}
