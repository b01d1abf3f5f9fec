import Foundation
import AuditReport
import SpectralModel

/// What the network bound needs from each analysed operator node.
struct OperatorFactor: Sendable {
    /// σ_max used in the product: the operator's own (dense, folded dense) or the convolution's
    /// operator norm (exact or certified upper bound) for conv layers.
    var sigma: Double
    /// With `--svd topk:K`, Lanczos gives a lower estimate of σ_1; the product uses
    /// `sigma + certificate` (the residual bound), so the network bound stays an upper bound.
    /// `e^H` and stable rank of the operator, when they describe the map on the network's input
    /// space (dense layers; not the reshaped conv matrix).
    var effectiveRank: Double?
    var stableRank: Double?
}

/// Network-level quantities of SPEC §4 over a `NetworkGraph`, in log space.
///
/// For every node, `log L(node)` bounds the log Lipschitz constant of the map from the network
/// input to that node's output:
/// - operator: `log L(in) + log σ_1` (conv: operator norm, BatchNorm: `max |s_i|` unless folded);
/// - built-in or standalone activation: `+ log Lip(φ)` (SPEC §3);
/// - pooling: `poolingLipschitz` (max-pool `+ ½ log K`, average-pool `+ ½ log(K / p)`, or
///   `+ ½ log K` when border windows divide by their valid cells only); global pooling `+ 0`
///   (global average pooling has
///   norm `1/sqrt(HW) ≤ 1`, so 1 is sound without knowing the spatial size);
/// - `Add`: the bounds of the branches add (`log Σ exp`), which gives `1 + Lip F` for a
///   residual `x + F(x)`; `Concatenate`: they combine in quadrature;
/// - several outputs: in quadrature;
/// - LSTM/GRU: `+ ln L` of its horizon bound (`RecurrentBounds`; the whole bound then holds for
///   sequences of length ≤ T only, and the report says so).
/// Nodes the operator model does not cover break the chain: the bound is unavailable, with the
/// first such node named in the reason.
enum NetworkBounds {
    /// ℓ2 Lipschitz bound of a (non-global) pooling layer, valid for every input size, by the
    /// Schur test `‖P‖₂ ≤ sqrt(‖P‖₁ ‖P‖_∞)`. Every row of P sums to 1 (an average) or picks one
    /// input (max, locally linear), and one input lies in at most `K = Π ceil(pool_i / stride_i)`
    /// windows. Max pooling: column sums ≤ K, bound `sqrt(K)`. Average pooling whose every window
    /// divides by the full window size p (valid padding, or padding counted as in PyTorch's
    /// `count_include_pad`): column sums ≤ K/p, bound `sqrt(K/p)`. Average pooling that divides
    /// by the valid cells only (Keras `padding='same'`): a border window of c < p cells weighs
    /// 1/c, so only `≤ 1` per window holds and the bound is `sqrt(K)` — `sqrt(K/p)` is not sound
    /// there (pool 2, stride 1: the last two outputs form [[½, ½], [0, 1]], norm 1.144 > 1).
    /// Tested against the exact norms of explicit pooling matrices (`PoolingBoundTests`).
    static func poolingLipschitz(isMax: Bool, pool: [Int], strides: [Int], dividesByValidCells: Bool) -> Double {
        // One stride per pooled axis: a single stride applies to every axis; a mismatched list
        // falls back to the window (never silently dropping an axis).
        let s = strides.count == pool.count ? strides
            : (strides.count == 1 ? [Int](repeating: strides[0], count: pool.count) : pool)
        let windows = zip(pool, s).reduce(1.0) { acc, ps in acc * ceil(Double(ps.0) / Double(max(ps.1, 1))) }
        if isMax || dividesByValidCells { return windows.squareRoot() }
        return (windows / Double(pool.reduce(1, *))).squareRoot()
    }

    struct Result {
        var report: NetworkReport
        /// node index → `ln σ_1 / ln L`
        var shares: [Int: Double]
    }

    static func compute(graph: NetworkGraph, factors: [Int: OperatorFactor], foldedInto: [Int: Int],
                        extraLipschitz: [Int: Double], broken: [Int: String],
                        recurrent: [Int: RecurrentBounds.Result] = [:]) -> Result {
        var logL = [Double](repeating: 0, count: graph.nodes.count)
        var chain: [ChainFactor] = []
        var reason: String? = graph.structureIssue
        var isChain = true
        var throughRecurrent = false

        /// How much a merge multiplies the largest incoming bound (1 when every branch is 0).
        func mergeFactor(_ merged: Double, _ ins: [Double]) -> Double {
            guard let m = ins.max(), m.isFinite, merged.isFinite else { return 1 }
            return exp(merged - m)
        }

        func logSumExp(_ xs: [Double]) -> Double {
            guard let m = xs.max(), m.isFinite else { return xs.max() ?? -.infinity }
            return m + log(xs.reduce(0) { $0 + exp($1 - m) })
        }

        for (i, node) in graph.nodes.enumerated() where reason == nil {
            let ins = node.inputs.map { logL[$0] }
            if node.inputs.count > 1 { isChain = false }
            var value = ins.first ?? 0
            if let why = broken[i] {
                reason = why
                break
            }
            switch node.kind {
            case .input:
                value = 0
            case .dense, .conv:
                guard let f = factors[i] else {
                    reason = "layer '\(node.name)' was not analysed"
                    break
                }
                value += log(f.sigma)
                chain.append(ChainFactor(layer: node.name, kind: "operator", value: f.sigma))
            case .batchNorm:
                if foldedInto[i] == nil {
                    guard let s = extraLipschitz[i] else {
                        reason = "BatchNorm '\(node.name)' was not analysed"
                        break
                    }
                    value += log(s)
                    chain.append(ChainFactor(layer: node.name, kind: "operator", value: s))
                }
            case .activation(let a):
                value += log(a.lipschitz)
                if a.lipschitz != 1 { chain.append(ChainFactor(layer: node.name, kind: "activation", value: a.lipschitz)) }
            case .prelu:
                guard let l = extraLipschitz[i] else {
                    reason = "PReLU '\(node.name)' was not analysed"
                    break
                }
                value += log(l)
                chain.append(ChainFactor(layer: node.name, kind: "activation", value: l))
            case .pooling(let kind, let pool, let strides, let global):
                if !global {
                    let padded = (node.attributes["padding"] ?? "valid") != "valid"
                    let includePad = node.attributes["count_include_pad"].map { $0 == "true" || $0 == "1" } ?? false
                    let lip = poolingLipschitz(isMax: kind == .max, pool: pool, strides: strides,
                                               dividesByValidCells: padded && !includePad)
                    value += log(lip)
                    if lip != 1 { chain.append(ChainFactor(layer: node.name, kind: "pooling", value: lip)) }
                }
            case .passThrough:
                break
            case .add:
                value = logSumExp(ins)
                chain.append(ChainFactor(layer: node.name, kind: "residual", value: mergeFactor(value, ins)))
            case .concatenate:
                value = 0.5 * logSumExp(ins.map { 2 * $0 })
                chain.append(ChainFactor(layer: node.name, kind: "concatenate", value: mergeFactor(value, ins)))
            case .embedding:
                reason = "layer '\(node.name)' is an embedding (a lookup on discrete inputs): a network fed by tokens has no Lipschitz bound in its input, and no option changes that; its table is analysed per operator"
            case .parameterized(let cls, _), .unsupported(let cls, _):
                // Issue 19: an LSTM/GRU is a factor through its horizon bound (`RecurrentBounds`).
                if let r = recurrent[i] {
                    guard let l = r.logFactor else {
                        reason = r.report.reason
                        break
                    }
                    value += l
                    throughRecurrent = true
                    if exp(l).isFinite { chain.append(ChainFactor(layer: node.name, kind: "recurrent", value: exp(l))) }
                    break
                }
                reason = "layer " + UnsupportedReasons.reason(layer: node.name, className: cls, source: graph.source)
            }
            if reason != nil { break }
            if let src = node.activationSource, src.hasPrefix("unknown:") {
                reason = "layer '\(node.name)': activation '\(src.dropFirst(8))' has no tabulated Lipschitz constant (SPEC §3), so no bound through it; an activation of the tabulated list (or an --arch manifest stating the one the layer really uses) gives one"
                break
            }
            if let a = node.activation {
                value += log(a.lipschitz)
                if a.lipschitz != 1 { chain.append(ChainFactor(layer: node.name, kind: "activation", value: a.lipschitz)) }
            }
            logL[i] = value
        }

        guard reason == nil else {
            return Result(report: NetworkReport(chain: chain, reason: reason), shares: [:])
        }
        let outs = graph.outputs.map { logL[$0] }
        let lnL = outs.count == 1 ? outs[0] : 0.5 * logSumExp(outs.map { 2 * $0 })
        var report = NetworkReport(lipschitzBound: exp(lnL), log10LipschitzBound: lnL / M_LN10, chain: chain)
        report.inputDimension = graph.inputDimension ?? firstFanIn(graph, factors: factors)

        // Typical bounds need a single chain (the Frobenius argument of SPEC §4) and d.
        if isChain, !throughRecurrent, let d = report.inputDimension, d > 0 {
            let ranks = factors.values.compactMap(\.effectiveRank)
            let stable = factors.values.compactMap(\.stableRank)
            if let minRank = ranks.min() {
                report.typicalBound = exp(lnL) * (minRank / Double(d)).squareRoot()
            }
            if let minStable = stable.min() {
                report.typicalBoundStableRank = exp(lnL) * (minStable / Double(d)).squareRoot()
            }
        }
        if report.typicalBound == nil || report.typicalBoundStableRank == nil {
            // Every null number carries a reason (issue 15).
            if throughRecurrent {
                report.typicalBoundReason = "the typical bounds' Frobenius argument covers chains of linear operators and activations, not an LSTM/GRU horizon bound"
            } else if !isChain {
                report.typicalBoundReason = "the typical bounds need a single chain of operators (their Frobenius argument); this network has branches or residual connections"
            } else if report.inputDimension == nil {
                report.typicalBoundReason = "the input dimension d is unknown: the model stores no input shape and the first operator is not dense (state input_shape in an --arch manifest)"
            } else {
                report.typicalBoundReason = "the e^H form needs every operator's spectral entropy, which this --svd method does not compute"
            }
        }
        var shares: [Int: Double] = [:]
        if lnL > 0 {
            for (i, f) in factors { shares[i] = log(f.sigma) / lnL }
        }
        return Result(report: report, shares: shares)
    }

    /// Fan-in of the first dense operator, when the graph's input shape is unknown.
    private static func firstFanIn(_ graph: NetworkGraph, factors: [Int: OperatorFactor]) -> Int? {
        for node in graph.nodes {
            if case .dense(let k, _) = node.kind {
                return k.orientation == .outIn ? k.shape.last : k.shape.first
            }
            if case .conv = node.kind { return nil }
        }
        return nil
    }
}
