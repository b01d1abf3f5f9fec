import AuditReport
import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// The weights-only analysis of a BERT-, GPT-2- or Llama-family transformer whose structure comes
/// from its `config.json`: per-head QK and OV spectra (from the thin factors), normalisation gain
/// statistics, and local Lipschitz bounds of every sublayer, block and of the network from input
/// embeddings to the last hidden state — each on the stated `TransformerDomain`.
public struct TransformerAnalysis: Sendable, Equatable {
    public struct HeadSpectra: Sendable, Equatable {
        public var layer: Int
        public var head: Int
        /// The key/value head this query head reads (grouped-query attention).
        public var keyValueHead: Int
        /// Singular values of `W_Q^hᵀ W_K^h / √d_h` and of `W_O^h W_V^h` (d×d maps of rank ≤ d_h;
        /// all d values, the trailing ones exactly zero).
        public var qk: [Double]
        public var ov: [Double]
        public var qkMetrics: SpectrumMetrics
        public var ovMetrics: SpectrumMetrics
        /// The head's local Lipschitz bound on the domain (`LocalBounds.attentionHead`).
        public var bound: Double
    }

    public struct NormStatistics: Sendable, Equatable {
        public var name: String
        public var isRMS: Bool
        public var maxAbsGamma: Double
        public var betaNorm: Double
        public var epsilon: Double
        /// Feature indices with `|γ_i| > 6 · median|γ|` (outlier dimensions).
        public var outlierDimensions: [Int]
        /// `max|γ| / √(s² + ε)` on the domain's scale s.
        public var lipschitz: Double
    }

    public struct BlockBounds: Sendable, Equatable {
        public var index: Int
        public var attention: Double
        /// Nil when the activation has no known Lipschitz constant (then `block` is nil too).
        public var mlp: Double?
        /// How the MLP bound holds: `global` (an ungated MLP) or `local` (gated: on the norm's output).
        public var mlpIsLocal: Bool
        public var block: Double?
    }

    public var family: TransformerFamily
    public var modelType: String
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    public var activation: String
    public var rotary: Bool
    public var domain: TransformerDomain
    public var headSpectra: [HeadSpectra]
    public var norms: [NormStatistics]
    public var blocks: [BlockBounds]
    /// Bound of the map input embeddings → last hidden state on the domain, nil with a reason.
    public var networkBound: Double?
    /// `log10` of the bound, also when the bound itself exceeds Float64.
    public var log10NetworkBound: Double?
    public var networkBoundReason: String?
    /// Every tensor the analysis read.
    public var tensorNames: Set<String>
}

/// The domain the probes met (data mode): per norm (by name) the smallest input scale, per block
/// the largest attention-input row norms (`rows`: ‖x_k‖; `centred`: ‖x_k − β‖).
public struct MeasuredDomain: Sendable, Equatable {
    public var normInputScales: [String: Double]
    public var attentionRows: [Int: (rows: Double, centred: Double)]
    public static func == (a: MeasuredDomain, b: MeasuredDomain) -> Bool {
        a.normInputScales == b.normInputScales && a.attentionRows.count == b.attentionRows.count
            && a.attentionRows.allSatisfy { k, v in b.attentionRows[k].map { $0 == v } ?? false }
    }
}

public enum TransformerAnalyzer {
    /// Largest derivative of each activation a config may name (`sup|φ'|`); nil for any other.
    /// gelu (erf) 1.1289041 at √2; the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`,
    /// `gelu_fast`) 1.1289931, rounded up to 1.128994; quick_gelu `xσ(1.702x)` = silu(1.702x)/1.702,
    /// whose derivative has silu's maximum 1.0998393.
    public static func activationLipschitz(_ name: String) -> Double? {
        switch name.lowercased() {
        case "gelu", "gelu_python": return Activation.gelu.lipschitz
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate": return 1.128994
        case "silu", "swish", "quick_gelu": return Activation.silu.lipschitz
        case "relu", "tanh", "linear": return 1
        default: return nil
        }
    }

    /// `knownSpectralNorms`: σ_max of whole stored matrices already computed exactly (the audit's
    /// per-tensor rows by Gram + dsyevd or dgesdd), by tensor name; the MLP matrices' σ_max is
    /// taken from there instead of being computed a second time (on a Llama-7B-shaped checkpoint
    /// three 11008×4096 Grams per block). Any matrix not in the map is computed here.
    ///
    /// Memory: one block's attention matrices are in Float64 at a time, and the MLP matrices one at
    /// a time (row norms and, when needed, σ_max), so the analysis never holds more than
    /// 4·d² + max(d·d_ff) Float64 values beside the store.
    ///
    /// `measured`: the domain probes met (data mode): each norm's own smallest input scale and
    /// each attention's largest input row norms replace the stated domain's values, so the bound
    /// holds at those probes (every factor is a pointwise Jacobian bound at the probe's point).
    public static func analyze(store: any TensorStore, config: HFModelConfig, domain: TransformerDomain,
                               knownSpectralNorms: [String: Double] = [:], measured: MeasuredDomain? = nil) throws
        -> TransformerAnalysis {
        let names = Set(store.tensors.map(\.name))
        let layout: TransformerLayout
        switch TransformerLayout.resolve(config, names: names) {
        case .success(let l): layout = l
        case .failure(let e): throw TransformerAnalysisError(e.description)
        }
        let d = config.hiddenSize, dh = config.headDim, H = config.numHeads
        guard H * dh <= 4 * d * d else { throw TransformerAnalysisError("implausible head layout \(H) × \(dh)") }
        let weights = TransformerWeights(store: store, width: d)
        let rotary = layout.family == .llama
        let defaultEps = layout.family == .llama ? 1e-6 : (layout.family == .gpt2 ? 1e-5 : 1e-12)
        let eps = config.normEpsilon ?? defaultEps
        let activation = config.activation ?? (layout.family == .gpt2 ? "gelu_new" : layout.family == .llama ? "silu" : "gelu")

        var norms: [TransformerAnalysis.NormStatistics] = []
        func normStats(_ n: NormTensors) throws -> TransformerAnalysis.NormStatistics {
            let g = try weights.vector(n.gamma)
            guard g.count == d else { throw TransformerAnalysisError("norm '\(n.gamma)' has \(g.count) values, expected \(d)") }
            let beta = try n.beta.map { try weights.vector($0) } ?? []
            let absG = g.map(abs)
            let median = absG.sorted()[absG.count / 2]
            let stats = TransformerAnalysis.NormStatistics(
                name: n.name, isRMS: n.isRMS, maxAbsGamma: absG.max() ?? 0,
                betaNorm: beta.reduce(0) { $0 + $1 * $1 }.squareRoot(), epsilon: eps,
                outlierDimensions: absG.indices.filter { absG[$0] > 6 * median },
                lipschitz: LocalBounds.normalisation(maxAbsGamma: absG.max() ?? 0, epsilon: eps,
                                                     scale: measured?.normInputScales[n.name] ?? domain.normInputScale))
            norms.append(stats)
            return stats
        }

        var headSpectra: [TransformerAnalysis.HeadSpectra] = []
        var blocks: [TransformerAnalysis.BlockBounds] = []
        let embeddingNorm = try layout.embeddingNorm.map(normStats)
        var previousOutputNorm = embeddingNorm
        let actLip = activationLipschitz(activation)
        var logBound = embeddingNorm.map { log($0.lipschitz) } ?? 0
        for block in layout.blocks {
            let attnNorm = try normStats(block.attentionNorm)
            let mlpNorm = try normStats(block.mlpNorm)
            // The attention's input is a normalisation's output: BERT (post-LN) the previous
            // block's (or the embeddings') output norm, pre-LN families their own input norm.
            let inputNorm = layout.family == .bert ? previousOutputNorm! : attnNorm
            var rows = LocalBounds.normOutputRows(maxAbsGamma: inputNorm.maxAbsGamma, betaNorm: inputNorm.betaNorm, width: d)
            if let m = measured?.attentionRows[block.index] {
                // Both are valid at the probes; the measured values are never larger in exact arithmetic.
                rows = (Swift.min(rows.rows, m.rows), Swift.min(rows.centred, m.centred))
            }
            // The attention's matrices live only inside this call (freed before the MLP's load).
            let (boundHeads, spectra) = try attentionHeads(block, weights: weights, config: config, domain: domain,
                                                           rows: rows, rotary: rotary)
            headSpectra += spectra
            let attention = LocalBounds.attention(boundHeads, sequenceLength: domain.sequenceLength, rows: rows.rows,
                                                  centred: rows.centred, rotary: rotary)
            var mlp: Double? = nil
            if let lip = actLip {
                // One MLP matrix in memory at a time: σ_max (unless known) and, for the gated
                // MLP, the row bound on the norm's output ball.
                func sigma(_ t: LinearTensor) throws -> Double {
                    try weights.largestSingularValue(t, known: knownSpectralNorms)
                }
                if let gateTensor = block.gate {
                    let r2 = LocalBounds.normOutputRows(maxAbsGamma: mlpNorm.maxAbsGamma, betaNorm: mlpNorm.betaNorm, width: d).rows
                    func sigmaAndRows(_ t: LinearTensor) throws -> (Double, Double) {
                        let m = try weights.matrix(t)
                        let s = try weights.largestSingularValue(t, known: knownSpectralNorms, matrix: m)
                        return (s, maxRowBound(m, r2, try weights.bias(t)))
                    }
                    let (sUp, rowsUp) = try sigmaAndRows(block.up)
                    let (sGate, rowsGate) = try sigmaAndRows(gateTensor)
                    mlp = LocalBounds.gatedMLP(down: try sigma(block.down), gate: sGate, up: sUp,
                                               maxAbsUp: rowsUp, maxAbsGate: rowsGate, activationLipschitz: lip)
                } else {
                    mlp = try sigma(block.down) * lip * sigma(block.up)
                }
            }
            let value: Double? = mlp.map { mlp in
                layout.family == .bert
                    ? attnNorm.lipschitz * (1 + attention) * mlpNorm.lipschitz * (1 + mlp)
                    : (1 + attention * attnNorm.lipschitz) * (1 + mlp * mlpNorm.lipschitz)
            }
            blocks.append(.init(index: block.index, attention: attention, mlp: mlp, mlpIsLocal: block.gate != nil, block: value))
            logBound += value.map { log($0) } ?? .nan
            previousOutputNorm = mlpNorm
        }
        if let final = try layout.finalNorm.map(normStats) { logBound += log(final.lipschitz) }

        var reason: String? = nil
        if actLip == nil {
            reason = "the MLP activation '\(activation)' has no Lipschitz constant in spectral-audit; the attention and norm bounds are still given"
        }
        return TransformerAnalysis(
            family: layout.family, modelType: config.modelType, hiddenSize: d, layers: config.numLayers, heads: H,
            keyValueHeads: config.numKeyValueHeads, headDim: dh, activation: activation, rotary: rotary, domain: domain,
            headSpectra: headSpectra, norms: norms, blocks: blocks,
            networkBound: reason == nil && logBound.isFinite && exp(logBound).isFinite ? exp(logBound) : nil,
            log10NetworkBound: reason == nil && logBound.isFinite ? logBound / log(10) : nil,
            networkBoundReason: reason ?? (exp(logBound).isFinite ? nil : "the bound exceeds Float64; see log10_network_bound"),
            tensorNames: layout.tensorNames)
    }

    /// Per-head spectra and bound inputs of one block's attention (heads in parallel over the
    /// cores; each head's work is independent and uses one BLAS thread).
    private static func attentionHeads(_ block: TransformerBlockTensors, weights: TransformerWeights, config: HFModelConfig,
                                       domain: TransformerDomain, rows: (rows: Double, centred: Double), rotary: Bool) throws
        -> ([LocalBounds.Head], [TransformerAnalysis.HeadSpectra]) {
        let d = config.hiddenSize, dh = config.headDim, H = config.numHeads
        let group = H / config.numKeyValueHeads
        let wq = try weights.matrix(block.query), wk = try weights.matrix(block.key)
        let wv = try weights.matrix(block.value), wo = try weights.matrix(block.output)
        guard wq.rows == H * dh, wq.cols == d, wk.rows == config.numKeyValueHeads * dh, wv.rows == wk.rows,
              wk.cols == d, wv.cols == d, wo.rows == d, wo.cols == H * dh else {
            throw TransformerAnalysisError("attention of block \(block.index): shapes Q \(wq.rows)×\(wq.cols), K \(wk.rows)×\(wk.cols), V \(wv.rows)×\(wv.cols), O \(wo.rows)×\(wo.cols) do not match \(H) heads of \(dh) (\(config.numKeyValueHeads) key/value heads) over width \(d)")
        }
        let bq = try weights.bias(block.query) ?? [Double](repeating: 0, count: H * dh)
        let bk = try weights.bias(block.key) ?? [Double](repeating: 0, count: config.numKeyValueHeads * dh)
        let results = ConcurrentResults<(LocalBounds.Head, TransformerAnalysis.HeadSpectra)>(count: H)
        DispatchQueue.concurrentPerform(iterations: H) { h in
            results.set(h, Result {
                let j = h / group
                let q = wq.rowSlice(h * dh, dh), k = wk.rowSlice(j * dh, dh), v = wv.rowSlice(j * dh, dh)
                let o = wo.columnSlice(h * dh, dh)
                let scale = 1 / Double(dh).squareRoot()
                let qk = try productSpectrum(q.transposed(), k, width: d).map { $0 * scale }
                let ov = try productSpectrum(o, v, width: d)
                let qBias = Array(bq[(h * dh)..<((h + 1) * dh)]), kBias = Array(bk[(j * dh)..<((j + 1) * dh)])
                let kTq = k.transposed().applied(to: qBias)
                let head = LocalBounds.Head(
                    ov: ov[0], qk: qk[0], q: try SVD.largestSingularValue(q), k: try SVD.largestSingularValue(k),
                    qBias: norm(qBias), kBias: norm(kBias), kTqBias: norm(kTq) * scale, headDim: dh)
                return (head, .init(
                    layer: block.index, head: h, keyValueHead: j, qk: qk, ov: ov,
                    qkMetrics: .compute(singularValues: qk, rows: d, cols: d),
                    ovMetrics: .compute(singularValues: ov, rows: d, cols: d),
                    bound: LocalBounds.attentionHead(head, sequenceLength: domain.sequenceLength, rows: rows.rows,
                                                     centred: rows.centred, rotary: rotary)))
            })
        }
        let all = try results.values()
        return (all.map(\.0), all.map(\.1))
    }

    /// All d singular values of the d×d map `left · right` (rank ≤ d_h) from its thin factors
    /// (`LowRank.productSingularValues`: QR of each factor, SVD of the small core), the trailing
    /// ones exactly zero.
    private static func productSpectrum(_ left: Matrix, _ right: Matrix, width d: Int) throws -> [Double] {
        let values = try LowRank.productSingularValues(b: left, a: right, scale: 1)
        return values + [Double](repeating: 0, count: max(0, d - values.count))
    }

    fileprivate static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// `max_i (‖W_i‖ R + |b_i|)`: a bound on every output of `W z + b` over `‖z‖ ≤ R`.
    private static func maxRowBound(_ w: Matrix, _ r: Double, _ b: [Double]?) -> Double {
        var best = 0.0
        for i in 0..<w.rows {
            var s = 0.0
            for j in 0..<w.cols { let x = w.storage[i * w.cols + j]; s += x * x }
            best = max(best, s.squareRoot() * r + abs(b?[i] ?? 0))
        }
        return best
    }
}

/// Results of `concurrentPerform` iterations, each written once by its own iteration.
private final class ConcurrentResults<T>: @unchecked Sendable {
    private var slots: [Result<T, Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); slots[i] = r; lock.unlock() }
    /// In iteration order; the first error (by index) is rethrown.
    func values() throws -> [T] { try slots.map { try $0!.get() } }
}
