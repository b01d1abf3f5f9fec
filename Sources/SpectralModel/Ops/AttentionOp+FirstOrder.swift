/// `AttentionOp`'s first-order passes (formulas in `AttentionOp`'s doc comment) on raw pointers.
/// Same loops, same operation order and therefore the same float64 results as the array-indexed
/// version they replace (bit for bit: every sum runs in the same order; `Tests/SpectralModelTests/
/// TransformerOpsTests` checks them against finite differences); only the per-element bounds and
/// uniqueness checks of nested `[[Double]]` subscripts are gone, which made the attention VJP the
/// largest single cost of the transformer data mode (15 % of its cycles on all-MiniLM-L6-v2).
extension AttentionOp {
    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard dx.contains(where: { $0 != nil }) else { return nil }
        let n = sequenceLength, perSample = allowed(ctx), dh = headDim
        var out = [Double](repeating: 0, count: ctx.n * n * qWidth)
        var ds = [Double](repeating: 0, count: n)
        let none: [Double] = []
        let dq0 = dx[0] ?? none, dk0 = dx[1] ?? none, dv0 = dx[2] ?? none
        let hasQ = dx[0] != nil, hasK = dx[1] != nil, hasV = dx[2] != nil
        ctx.saved.values.withUnsafeBufferPointer { pp in
        ctx.inputs[0].withUnsafeBufferPointer { qp in
        ctx.inputs[1].withUnsafeBufferPointer { kp in
        ctx.inputs[2].withUnsafeBufferPointer { vp in
        dq0.withUnsafeBufferPointer { dqp in
        dk0.withUnsafeBufferPointer { dkp in
        dv0.withUnsafeBufferPointer { dvp in
        out.withUnsafeMutableBufferPointer { op in
        ds.withUnsafeMutableBufferPointer { dsp in
            let p = pp.baseAddress!, q = qp.baseAddress!, k = kp.baseAddress!, v = vp.baseAddress!, o = op.baseAddress!
            let dq = dqp.baseAddress, dk = dkp.baseAddress, dv = dvp.baseAddress, ds = dsp.baseAddress!
            for s in 0..<ctx.n {
                let allowed = perSample[s]
                for h in 0..<heads {
                    let j = h / group
                    for i in 0..<n {
                        let pb = ((s * heads + h) * n + i) * n, qb = s * n * qWidth + i * qWidth + h * dh
                        if hasQ || hasK {
                            var mean = 0.0
                            for kk in allowed[i] {
                                let kb = s * n * kWidth + kk * kWidth + j * dh
                                var t = 0.0
                                if hasQ { let a = dq! + qb, b = k + kb; for e in 0..<dh { t += a[e] * b[e] } }
                                if hasK { let a = q + qb, b = dk! + kb; for e in 0..<dh { t += a[e] * b[e] } }
                                ds[kk] = scale * t
                                mean += p[pb + kk] * ds[kk]
                            }
                            for kk in allowed[i] {
                                let w = p[pb + kk] * (ds[kk] - mean), vr = v + s * n * kWidth + kk * kWidth + j * dh
                                let orow = o + qb
                                for e in 0..<dh { orow[e] += w * vr[e] }
                            }
                        }
                        if hasV {
                            for kk in allowed[i] {
                                let w = p[pb + kk], dvr = dv! + s * n * kWidth + kk * kWidth + j * dh
                                let orow = o + qb
                                for e in 0..<dh { orow[e] += w * dvr[e] }
                            }
                        }
                    }
                }
            }
        } } } } } } } } }
        return out
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample kr: Int, ctx: OpContext, into gx: inout [[Double]]) {
        let n = sequenceLength, perSample = allowed(ctx), dh = headDim
        // Move the three cotangent buffers out (no copy: they are uniquely referenced) so each
        // gets its own pointer; they are moved back at the end.
        var g0: [Double] = [], g1: [Double] = [], g2: [Double] = []
        swap(&g0, &gx[0])
        swap(&g1, &gx[1])
        swap(&g2, &gx[2])
        let wantQ = !g0.isEmpty, wantK = !g1.isEmpty, wantV = !g2.isEmpty
        var gp = [Double](repeating: 0, count: n)
        ctx.saved.values.withUnsafeBufferPointer { pp in
        ctx.inputs[0].withUnsafeBufferPointer { qp in
        ctx.inputs[1].withUnsafeBufferPointer { kp in
        ctx.inputs[2].withUnsafeBufferPointer { vp in
        gy.withUnsafeBufferPointer { gyp in
        g0.withUnsafeMutableBufferPointer { o0 in
        g1.withUnsafeMutableBufferPointer { o1 in
        g2.withUnsafeMutableBufferPointer { o2 in
        gp.withUnsafeMutableBufferPointer { gpp in
            let p = pp.baseAddress!, q = qp.baseAddress!, k = kp.baseAddress!, v = vp.baseAddress!, g = gyp.baseAddress!
            let gq = o0.baseAddress, gk = o1.baseAddress, gv = o2.baseAddress, gp = gpp.baseAddress!
            for r in 0..<rows {
                let s = r / kr, allowed = perSample[s]
                for h in 0..<heads {
                    let j = h / group
                    for i in 0..<n {
                        let pb = ((s * heads + h) * n + i) * n
                        let gb = r * n * qWidth + i * qWidth + h * dh
                        let qb = s * n * qWidth + i * qWidth + h * dh
                        let grow = g + gb
                        var mean = 0.0
                        for kk in allowed[i] {
                            let vr = v + s * n * kWidth + kk * kWidth + j * dh
                            var t = 0.0
                            for e in 0..<dh { t += grow[e] * vr[e] }
                            gp[kk] = t
                            mean += p[pb + kk] * t
                        }
                        for kk in allowed[i] {
                            let w = p[pb + kk], gs = scale * w * (gp[kk] - mean)
                            let kb = s * n * kWidth + kk * kWidth + j * dh, rkb = r * n * kWidth + kk * kWidth + j * dh
                            if wantQ { let a = gq! + gb, b = k + kb; for e in 0..<dh { a[e] += gs * b[e] } }
                            if wantK { let a = gk! + rkb, b = q + qb; for e in 0..<dh { a[e] += gs * b[e] } }
                            if wantV { let a = gv! + rkb; for e in 0..<dh { a[e] += w * grow[e] } }
                        }
                    }
                }
            }
        } } } } } } } } }
        swap(&g0, &gx[0])
        swap(&g1, &gx[1])
        swap(&g2, &gx[2])
    }
}
