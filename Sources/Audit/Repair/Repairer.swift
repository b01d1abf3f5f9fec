import Foundation
import AuditReport
import LinearAlgebra
import SpectralModel
import WeightFiles

/// Why a repair cannot be made (the CLI maps `unusable` to exit 65, `unreachable` to exit 1).
public enum RepairError: Error, CustomStringConvertible {
    case unusable(String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .unusable(let s), .unreachable(let s): return s
        }
    }
}

/// What `spectral-audit repair` asks for.
public struct RepairOptions: Sendable {
    /// Bring the weights-only GMSI (SPEC §4) to at most this.
    public var targetGMSI: Double?
    /// Every layer's factor at most this.
    public var maxSigma: Double?
    /// Per-layer factor limits (layer name → limit).
    public var layerMaxSigma: [String: Double] = [:]
    /// How the bound is computed (svd, input shape, manifest, limits, jobs), as in the audit.
    public var audit = AuditConfiguration()
    /// Allocation rounds before giving up (each re-audits the rounded weights).
    public var maxRounds = 12

    public init() {}
}

/// The result: the new values of the changed tensors (C order, exactly representable in each
/// tensor's stored dtype) and the report.
public struct RepairOutcome: Sendable {
    public var replacements: [String: [Double]]
    public var report: RepairReportV1
    /// The graph the repair worked on (for probe measurements).
    public var graph: NetworkGraph
}

/// The repair of spectral-audit-metrics(7) "Repair": allocate clip levels (`ClipAllocation`), clip
/// each layer's spectrum (dense: SVD clip of the operator — folded with its BatchNorm when the
/// audit folds it — then unfolded; conv: the reshaped matrices clipped at a level found by
/// bisection until the certified operator norm meets the allocated factor, scaling when that is
/// smaller or the only way), round to the stored dtype, recompute the bound exactly as the audit
/// does, and tighten the budget by any excess until the bound meets the target.
public enum Repairer {
    /// Limits are met with this relative room (`L ≤ T·(1 − 1e-10)`), so that the written file's own
    /// audit meets them too when it takes another code path (streamed Gram for large safetensors
    /// tensors) or runs on another CPU (OpenBLAS kernels differ in the last ulps).
    public static let acceptanceMargin = 1e-10

    public static func run(store: any TensorStore, options: RepairOptions) throws -> RepairOutcome {
        BLASThreads.set(1)
        guard options.targetGMSI != nil || options.maxSigma != nil || !options.layerMaxSigma.isEmpty else {
            throw RepairError.unusable("nothing to do: give --target-gmsi and/or --max-sigma")
        }
        var config = options.audit
        config.includeSpectra = false
        config.heavyTail = false
        config.data = nil
        config.progress = nil
        config.shard = nil
        let graph = try Auditor.buildGraph(store: store, configuration: config)
        let before = try bound(store: store, graph: graph, configuration: config)
        guard let gmsi0 = before.lipschitz else {
            throw RepairError.unusable("\(store.path): the network bound is unavailable (\(before.reason ?? "unknown reason")); nothing to repair against")
        }
        for name in options.layerMaxSigma.keys where !graph.nodes.contains(where: { $0.name == name }) {
            throw RepairError.unusable("--max-sigma: no layer named '\(name)' in \(store.path)")
        }
        let spatial = graph.spatialSizes(inputSpatial: config.inputShape ?? graph.inputSpatial)
        var layers: [RepairLayer] = []
        for i in before.factors.keys.sorted() {
            if let layer = try prepare(node: i, graph: graph, store: store, factor: before.factors[i]!.sigma,
                                       foldedBN: before.foldPlan[i], spatial: spatial[i]) {
                layers.append(layer)
            }
        }
        var notes: [String] = []
        if !before.isChain {
            notes.append("the graph has merges (residual or concatenation): the bound is not a plain product, so the allocation's budget was tightened round by round until the recomputed bound met the target")
        }
        // Fixed part of the log bound: everything but the layers' factors (exact for chains).
        let logFixed = log(gmsi0) - layers.reduce(0) { $0 + log($1.factor) }
        var budget = options.targetGMSI.map { log($0) - logFixed } ?? .infinity
        // Caps in factor units per layer.
        var caps: [Double?] = layers.map { l in
            [options.maxSigma, options.layerMaxSigma[l.name]].compactMap { $0 }.min()
        }
        var round = 0
        var lastAllocation: ClipAllocation.Result?
        var realized: [Realized] = []
        var after: BoundResult = before
        var replacements: [String: [Double]] = [:]
        // Factor per unit of the clipped matrix's level. Dense: σ_max itself (1, or the Lanczos
        // certificate's ratio). Conv: the certified operator norm over the reshaped σ_1 to start
        // with, then (a fixed-point step) the norm achieved per unit of the reshaped clip level the
        // bisection needed, so the allocation prices convolutions at what they really cost.
        var ratios = layers.map(\.ratio)
        var ratioUpdates = 0
        let capsAsked = caps
        // Unit roundoff of the coarsest stored dtype among the layers.
        var margin = layers.map { l -> Double in
            switch l.info.dtype {
            case .float16: return 0x1p-11
            case .bfloat16: return 0x1p-8
            case .float32: return 0x1p-24
            default: return 0x1p-53
            }
        }.max() ?? 0x1p-53
        while true {
            round += 1
            let alloc = ClipAllocation.allocate(layers.enumerated().map { k, l in
                ClipAllocation.Layer(singularValues: l.singularValues, ratio: ratios[k],
                                     cap: caps[k].map { $0 / ratios[k] })
            }, logBudget: budget)
            lastAllocation = alloc
            realized = try layers.indices.map { k in
                try realize(layers[k], target: alloc.levels[k] * ratios[k], matrixLevel: alloc.levels[k])
            }
            replacements = [:]
            for (l, r) in zip(layers, realized) where r.stored != nil { replacements[l.kernel.name] = r.stored }
            let overlay = OverlayTensorStore(base: store, replaced: replacements)
            after = try bound(store: overlay, graph: graph, configuration: config)
            guard let g = after.lipschitz else {
                throw RepairError.unreachable("the repaired weights have no network bound (\(after.reason ?? "unknown"))")
            }
            // Re-price convolutions whose achieved norm per unit of clip level moved by > 0.1 %.
            var repriced = false
            if ratioUpdates < 6 {
                for k in layers.indices where layers[k].isConv {
                    guard let t = realized[k].matrixLevel, t > 0, let f = after.factors[layers[k].node]?.sigma else { continue }
                    let r = f / t
                    if abs(r / ratios[k] - 1) > 1e-3 { ratios[k] = r; repriced = true }
                }
            }
            if repriced {
                ratioUpdates += 1
                if round < options.maxRounds { continue }
            }
            // Rounding to the stored dtype can push a factor above its level by about the dtype's
            // unit roundoff: tighten by the excess plus a margin that starts there and grows.
            var ok = true
            if let target = options.targetGMSI.map({ $0 * (1 - acceptanceMargin) }), g > target {
                ok = false
                budget -= log(g / target) + margin
            }
            for (k, l) in layers.enumerated() {
                guard let cap = caps[k], let f = after.factors[l.node]?.sigma, f > capsAsked[k]! * (1 - acceptanceMargin) else { continue }
                ok = false
                caps[k] = cap * (capsAsked[k]! * (1 - acceptanceMargin) / f) * exp(-margin)
            }
            if ok { break }
            margin *= 4
            if round >= options.maxRounds {
                throw RepairError.unreachable("the target cannot be met: after \(round) rounds the bound is \(g)" +
                    (options.targetGMSI.map { " > \($0)" } ?? "") + (before.isChain ? "" : " (merges such as residual connections keep a part of the bound that no clipping removes)"))
            }
        }
        var rows: [RepairReportV1.Layer] = []
        for (k, l) in layers.enumerated() {
            let r = realized[k]
            let changed = r.stored != nil
            let newStored = r.stored ?? l.stored
            let newOp = r.operatorEntries ?? l.operatorEntries
            rows.append(RepairReportV1.Layer(
                layer: l.name, kind: l.isConv ? "conv" : "dense", tensor: l.kernel.name, foldedBatchNorm: l.foldedBatchNorm,
                sigmaBefore: l.factor, sigmaAfter: after.factors[l.node]?.sigma ?? .nan,
                clipLevel: changed ? r.level : nil,
                relativeChange: relative(newStored, l.stored), operatorRelativeChange: relative(newOp, l.operatorEntries),
                method: changed ? r.method : "unchanged", operatorNormMethod: after.normMethods[l.node]))
        }
        if lastAllocation?.leftConvexBranch == true {
            notes.append("some clip level left the convex branch of its layer's cost: the allocation is a feasible KKT-type point, not proven optimal")
        }
        let cost = zip(layers, realized).reduce(0.0) { acc, lr in
            acc + zip(lr.1.operatorEntries ?? lr.0.operatorEntries, lr.0.operatorEntries).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        let limits = options.layerMaxSigma.isEmpty ? nil : options.layerMaxSigma
        let report = RepairReportV1(input: store.path, inputFormat: store.format.rawValue, targetGmsi: options.targetGMSI,
                                    maxSigma: options.maxSigma, layerMaxSigma: limits, gmsiBefore: gmsi0,
                                    gmsiAfter: after.lipschitz ?? .nan, met: true, rounds: round, totalCost: cost,
                                    multiplier: lastAllocation?.multiplier ?? 0, layers: rows, notes: notes)
        return RepairOutcome(replacements: replacements, report: report, graph: graph)
    }

    static func relative(_ a: [Double], _ b: [Double]) -> Double {
        var d = 0.0, n = 0.0
        for (x, y) in zip(a, b) { d += (x - y) * (x - y); n += y * y }
        return n > 0 ? (d / n).squareRoot() : 0
    }

    // MARK: the bound as the audit computes it

    struct BoundResult {
        var lipschitz: Double?
        var reason: String?
        var factors: [Int: OperatorFactor]
        var foldPlan: [Int: Int]  // operator → BatchNorm
        var normMethods: [Int: String]
        var isChain: Bool
    }

    static func bound(store: any TensorStore, graph: NetworkGraph, configuration: AuditConfiguration) throws -> BoundResult {
        // Repaired tensors exist only in the overlay: never stream them from the file.
        let analysis = LayerAnalysis(store: store, graph: graph, configuration: configuration,
                                     allowStreaming: !(store is OverlayTensorStore))
        let rows = try analysis.run()
        let b = NetworkBounds.compute(graph: graph, factors: analysis.factors, foldedInto: analysis.foldedInto,
                                      extraLipschitz: analysis.extraLipschitz, broken: analysis.broken)
        var plan: [Int: Int] = [:]
        for (bn, op) in analysis.foldedInto { plan[op] = bn }
        var methods: [Int: String] = [:]
        for (node, row) in analysis.rowIndex { if let m = rows[row].operatorNormMethod { methods[node] = m } }
        let chain = graph.nodes.allSatisfy { $0.inputs.count <= 1 } && graph.outputs.count == 1
        return BoundResult(lipschitz: b.report.lipschitzBound, reason: b.report.reason, factors: analysis.factors,
                           foldPlan: plan, normMethods: methods, isChain: chain)
    }

    // MARK: layers

    static func prepare(node i: Int, graph: NetworkGraph, store: any TensorStore, factor: Double, foldedBN: Int?,
                        spatial: [Int]?) throws -> RepairLayer? {
        let node = graph.nodes[i]
        var scale: [Double]?
        if let bn = foldedBN, case .batchNorm(let spec) = graph.nodes[bn].kind {
            let variance = try store.loadFloat64(spec.variance.name)
            let mean = try store.loadFloat64(spec.mean.name)
            let ones = [Double](repeating: 1, count: variance.count)
            let gamma = try spec.gamma.map { try store.loadFloat64($0.name) } ?? ones
            let beta = try spec.beta.map { try store.loadFloat64($0.name) } ?? ones.map { _ in 0 }
            scale = try BatchNormFold.scale(gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: spec.epsilon)
        }
        let bnName = foldedBN.map { graph.nodes[$0].name }
        switch node.kind {
        case .dense(let kernel, _):
            let info = try store.info(kernel.name)
            guard info.dtype.isFloatingPoint else { return nil }
            let data = try store.loadFloat64(kernel.name)
            var a = try OperatorBuilder.dense(data: data, ref: kernel)
            if let s = scale { a = try BatchNormFold.fold(a, scale: s) }
            let svd = try SVD.thin(a)
            return RepairLayer(node: i, name: node.name, kernel: kernel, info: info, stored: data, scale: scale,
                               foldedBatchNorm: bnName, matrix: a, conv: nil, convSpec: nil, spatial: nil,
                               svds: [svd], singularValues: svd.s, factor: factor)
        case .conv(let spec):
            let info = try store.info(spec.kernel.name)
            guard info.dtype.isFloatingPoint else { return nil }
            let data = try store.loadFloat64(spec.kernel.name)
            var k = try OperatorBuilder.conv(data: data, spec: spec)
            if let s = scale { k = try BatchNormFold.fold(k, scale: s) }
            let svds = try k.reshapedMatrices().map { try SVD.thin($0) }
            return RepairLayer(node: i, name: node.name, kernel: spec.kernel, info: info, stored: data, scale: scale,
                               foldedBatchNorm: bnName, matrix: nil, conv: k, convSpec: spec, spatial: spatial,
                               svds: svds, singularValues: svds.flatMap(\.s).sorted(by: >), factor: factor)
        default:
            return nil
        }
    }

    struct Realized {
        /// New stored values (rounded to the dtype), nil when unchanged.
        var stored: [Double]?
        var operatorEntries: [Double]?
        var level: Double
        var method: String
        /// The clip level of the matrix actually used (conv: the bisection's reshaped level).
        var matrixLevel: Double?
    }

    /// Brings one layer's factor to `target`; `matrixLevel` is the allocation's level of the
    /// clipped matrix (dense: the SVD clip level).
    static func realize(_ l: RepairLayer, target: Double, matrixLevel t: Double) throws -> Realized {
        if target >= l.factor || t >= l.sigma1 {
            return Realized(stored: nil, operatorEntries: nil, level: l.factor, method: "unchanged", matrixLevel: nil)
        }
        var usedLevel: Double? = t
        var entries: [Double]
        var method: String
        if let m = l.matrix {
            let (u, s, vt) = l.svds[0]
            entries = SVD.clipped(m, u: u, s: s, vt: vt, at: t).storage
            method = "svd_clip"
        } else {
            // Bisection on the reshaped clip level: keep the largest level whose certified
            // operator norm (what the audit reports) is at most the target.
            var lo = 0.0, hi = l.sigma1
            var best: [Double]? = nil
            let hiW = l.convClipped(at: hi)
            if try l.convNorm(hiW).norm <= target { best = hiW; lo = hi }
            var iterations = 0
            while best == nil || hi - lo > 1e-10 * l.sigma1, iterations < 60 {
                iterations += 1
                let mid = 0.5 * (lo + hi)
                let w = l.convClipped(at: mid)
                if try l.convNorm(w).norm <= target { lo = mid; best = w } else { hi = mid }
                if best != nil && hi - lo <= 1e-10 * l.sigma1 { break }
            }
            let op = l.conv!.weights
            let scaled = op.map { $0 * (target / l.factor) }
            if let b = best, relative(b, op) <= relative(scaled, op) {
                entries = b
                method = "reshaped_svd_clip_bisection"
                usedLevel = lo
            } else {
                entries = scaled
                method = "scaling"
                usedLevel = nil
            }
        }
        let raw = try l.storedValues(forOperator: entries)
        let rounded = try raw.map { try ElementEncoding.round($0, to: l.info.dtype) }
        // The operator the product will see after rounding (re-folded from the rounded kernel).
        let opAfter: [Double]
        if l.matrix != nil {
            var a = try OperatorBuilder.dense(data: rounded, ref: l.kernel)
            if let s = l.scale { a = try BatchNormFold.fold(a, scale: s) }
            opAfter = a.storage
        } else {
            var k = try OperatorBuilder.conv(data: rounded, spec: l.convSpec!)
            if let s = l.scale { k = try BatchNormFold.fold(k, scale: s) }
            opAfter = k.weights
        }
        return Realized(stored: rounded, operatorEntries: opAfter, level: target, method: method, matrixLevel: usedLevel)
    }
}
