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

/// Network-level quantities of SPEC §4 over a `NetworkGraph`, in log space, from each op's own
/// Lipschitz rule (`NodeLipschitzSource`, stated beside the op) and the norms the weights-only
/// analysis measured.
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
    /// The shape-free pooling bound (stated by `PoolOp`, beside the op).
    static func poolingLipschitz(isMax: Bool, pool: [Int], strides: [Int], dividesByValidCells: Bool) -> Double {
        PoolOp.windowLipschitz(isMax: isMax, pool: pool, strides: strides, dividesByValidCells: dividesByValidCells)
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

        /// One node's factor: `value` is the incoming log bound (the first input's), `ins` all of them.
        func apply(_ r: NodeLipschitz, node: Node, norms: MeasuredNorms = MeasuredNorms(), ins: [Double], value: inout Double) {
            switch r.rule {
            case .linearOperator:
                guard let s = norms.operatorNorm else {
                    reason = r.unmeasured ?? "layer '\(node.name)' was not analysed"
                    return
                }
                value += log(s)
                chain.append(ChainFactor(layer: node.name, kind: r.chainKind, value: s))
            case .constant(let c, _):
                value += log(c)
                if c != 1 || r.listedWhenOne { chain.append(ChainFactor(layer: node.name, kind: r.chainKind, value: c)) }
            case .merge(let m):
                value = m == .sum ? logSumExp(ins) : 0.5 * logSumExp(ins.map { 2 * $0 })
                chain.append(ChainFactor(layer: node.name, kind: r.chainKind, value: mergeFactor(value, ins)))
            case .local, .unbounded:
                reason = "layer " + UnsupportedReasons.reason(layer: node.name, className: node.kind.reportKind, source: graph.source)
            }
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
                // An op with a global constant (no weights-only graph has one today) continues
                // the chain; a local or unbounded rule, or no op, stops it with the reason that
                // says what the rows below analyse.
                if case .parameterized = node.kind, let r = OpRegistry.lipschitz(of: node, norms: MeasuredNorms()),
                   case .constant = r.rule {
                    apply(r, node: node, ins: ins, value: &value)
                    break
                }
                reason = "layer " + UnsupportedReasons.reason(layer: node.name, className: cls, source: graph.source)
            default:
                // The op's own rule (`NodeLipschitzSource`, beside the op), with the norms the
                // weights-only analysis measured.
                let norms = MeasuredNorms(operatorNorm: factors[i]?.sigma ?? extraLipschitz[i], parameterMaxAbs: extraLipschitz[i])
                guard let r = OpRegistry.lipschitz(of: node, norms: norms) else {
                    reason = "layer " + UnsupportedReasons.reason(layer: node.name, className: node.kind.reportKind, source: graph.source)
                    break
                }
                if case .linearOperator = r.rule, foldedInto[i] != nil { break }  // σ₁ of the operator it was folded into covers it
                if let why = r.unmeasured {
                    reason = why
                    break
                }
                apply(r, node: node, norms: norms, ins: ins, value: &value)
            }
            if reason != nil { break }
            if let src = node.activationSource, src.hasPrefix("unknown:") {
                reason = "layer '\(node.name)': activation '\(src.dropFirst(8))' has no tabulated Lipschitz constant (SPEC §3), so no bound through it; an activation of the tabulated list (or an --arch manifest stating the one the layer really uses) gives one"
                break
            }
            if let a = node.activation {
                apply(ActivationOp.lipschitz(of: a), node: node, ins: [value], value: &value)
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
                report.typicalBoundReason = "the typical bounds' Frobenius argument covers chains of linear operators and activations, not an LSTM/GRU/RNN horizon bound"
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
