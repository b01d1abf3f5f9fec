/// Max and average pooling, windowed or global (`PoolGeometry` states the padding conventions).
/// Average pooling is linear; max pooling is linear once its selections are fixed (the forward
/// pass saves, per sample, the input cell each output copies), so the JVP, VJP and second-order
/// step apply that fixed map. Lipschitz: the Schur-test bound of `PoolGeometry.lipschitz`
/// (1 for non-overlapping max pooling).
///
/// Node attributes read: `padding` (`valid` default, `same`, `explicit`), `pads`, `ceil_mode`,
/// `count_include_pad` (`true`/`1`).
public struct PoolOp: LinearStructuralOp, OpBuilder {
    public let name: String
    public let isMax: Bool
    public let global: Bool
    let geometry: PoolGeometry
    let inPositions: Int
    let detail: String

    public var outputShape: [Int] { global ? [geometry.channels] : geometry.outSpatial + [geometry.channels] }
    public var lipschitz: LipschitzRule {
        .constant(geometry.lipschitz(isMax: isMax, inPositions: inPositions), derivation: "Schur test sqrt(‖P‖₁‖P‖_∞) over the windows")
    }
    public var report: OpReport { OpReport(kind: (global ? "global_" : "") + (isMax ? "max_pool" : "avg_pool"), detail: detail) }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .pooling(let kind, let pool, let strides, let global) = node.kind else { return nil }
        let s = b.inputShape()
        guard s.count >= 2 else { throw ForwardModelError("layer '\(node.name)': pooling of a tensor of shape \(s)") }
        func flag(_ key: String) -> Bool? { node.attributes[key].map { $0 == "true" || $0 == "1" } }
        let padding = node.attributes["padding"] ?? "valid"
        let pads = node.attributes["pads"].map { $0.split(separator: ",").compactMap { Int($0) } }
        let geo = try PoolGeometry(inSpatial: Array(s.dropLast()), channels: s.last!, pool: pool, strides: strides,
                                   padding: padding, pads: pads, ceilMode: flag("ceil_mode") ?? false,
                                   countIncludePad: flag("count_include_pad") ?? true, global: global, layer: node.name)
        let op = PoolOp(name: node.name, isMax: kind == .max, global: global, geometry: geo, inPositions: s.dropLast().reduce(1, *),
                        detail: global ? "global" : "pool \(pool), strides \(strides), \(padding)")
        return try b.emit(op, inputs: [b.inputSlots[0]])
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        let g = geometry, c = g.channels, n = ctx.n, inSize = ctx.inputSizes[0], outSize = ctx.outputSize
        let x = ctx.inputs[0]
        var y = [Double](repeating: 0, count: n * outSize)
        var sel = [Int32](repeating: 0, count: isMax ? n * outSize : 0)
        for s in 0..<n {
            let xb = s * inSize, yb = s * outSize
            for q in 0..<g.outPositions {
                let lo = g.start[q], hi = g.start[q + 1]
                for ch in 0..<c {
                    if isMax {
                        var best = -Double.infinity, arg = 0
                        for t in lo..<hi {
                            let idx = Int(g.cells[t]) * c + ch
                            let v = x[xb + idx]
                            if t == lo || v > best { best = v; arg = idx }
                        }
                        y[yb + q * c + ch] = best
                        sel[yb + q * c + ch] = Int32(arg)
                    } else {
                        var acc = 0.0
                        for t in lo..<hi { acc += x[xb + Int(g.cells[t]) * c + ch] }
                        y[yb + q * c + ch] = acc * g.inverseDivisor[q]
                    }
                }
            }
        }
        return (y, OpSaved(indices: sel))
    }

    public func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double] {
        let g = geometry, c = g.channels, inSize = ctx.inputSizes[0], outSize = ctx.outputSize
        let x = v[0], sel = ctx.saved.indices
        var y = [Double](repeating: 0, count: rows * outSize)
        for r in 0..<rows {
            let s = r / k, xb = r * inSize, yb = r * outSize
            for q in 0..<g.outPositions {
                for ch in 0..<c {
                    if isMax {
                        y[yb + q * c + ch] = x[xb + Int(sel[s * outSize + q * c + ch])]
                    } else {
                        var acc = 0.0
                        for t in g.start[q]..<g.start[q + 1] { acc += x[xb + Int(g.cells[t]) * c + ch] }
                        y[yb + q * c + ch] = acc * g.inverseDivisor[q]
                    }
                }
            }
        }
        return y
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let g = geometry, c = g.channels, inSize = ctx.inputSizes[0], outSize = ctx.outputSize
        let sel = ctx.saved.indices
        gx[0].withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows {
                let s = r / k, xb = r * inSize, yb = r * outSize
                for q in 0..<g.outPositions {
                    let inv = g.inverseDivisor[q]
                    for ch in 0..<c {
                        let v = gy[yb + q * c + ch]
                        if isMax {
                            xp[xb + Int(sel[s * outSize + q * c + ch])] += v
                        } else {
                            for t in g.start[q]..<g.start[q + 1] { xp[xb + Int(g.cells[t]) * c + ch] += v * inv }
                        }
                    }
                }
            }
        }
    }
}

extension PoolOp: NodeLipschitzSource {
    /// Windowed pooling: the shape-free Schur bound `windowLipschitz` (valid for every input
    /// size); global pooling: 1 (global average pooling has norm `1/sqrt(HW) ≤ 1`).
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .pooling(let kind, let pool, let strides, let global) = node.kind else { return nil }
        if global { return NodeLipschitz(.constant(1, derivation: "global pooling"), chainKind: "pooling") }
        let padded = (node.attributes["padding"] ?? "valid") != "valid"
        let includePad = node.attributes["count_include_pad"].map { $0 == "true" || $0 == "1" } ?? false
        let lip = windowLipschitz(isMax: kind == .max, pool: pool, strides: strides, dividesByValidCells: padded && !includePad)
        return NodeLipschitz(.constant(lip, derivation: "Schur test sqrt(‖P‖₁‖P‖_∞) over the windows, any input size"), chainKind: "pooling")
    }

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
    public static func windowLipschitz(isMax: Bool, pool: [Int], strides: [Int], dividesByValidCells: Bool) -> Double {
        // One stride per pooled axis: a single stride applies to every axis; a mismatched list
        // falls back to the window (never silently dropping an axis).
        let s = strides.count == pool.count ? strides
            : (strides.count == 1 ? [Int](repeating: strides[0], count: pool.count) : pool)
        let windows = zip(pool, s).reduce(1.0) { acc, ps in acc * (Double(ps.0) / Double(Swift.max(ps.1, 1))).rounded(.up) }
        if isMax || dividesByValidCells { return windows.squareRoot() }
        return (windows / Double(pool.reduce(1, *))).squareRoot()
    }
}
