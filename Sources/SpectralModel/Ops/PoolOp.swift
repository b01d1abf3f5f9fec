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
