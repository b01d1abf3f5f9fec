import LinearAlgebra

extension RecurrentOp {
    /// The state map one step applies, along a probe's trajectory (issue 19: the measured
    /// contraction): per direction, for t = 1 … T in the direction's processing order, σ_max of
    /// - GRU / RNN: `∂h_t/∂h_{t−1}` (`H × H`);
    /// - LSTM: the (h, c) map `∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) = [[∂h/∂h, ∂h/∂c], [∂c/∂h, diag f]]`
    ///   (`(Hp + H)²`; with `m = o⊙tanh c`, `∂c/∂h = diag(c_{t−1}⊙f') W_hf + diag(g⊙i') W_hi +
    ///   diag(i⊙g') W_hg`, `∂m/∂h = diag(tanh c⊙o') W_ho + diag(o⊙tanh'c) ∂c/∂h`,
    ///   `∂m/∂c = diag(o⊙tanh'c⊙f)`, `∂h = W_hr ∂m` with a projection),
    /// with the input x_t held fixed, at the states the probe visits (σ' = s(1−s), tanh' = 1−t²).
    /// `x` is one sample (`T × F`), `theta` this op's parameters. σ_max by LAPACK (`SVD`).
    public func stateJacobianNorms(sample x: [Double], theta: [Double]) throws -> [[Double]] {
        let H = spec.hidden, Hp = spec.out, G = spec.gates, T = steps, o = spec.offsets
        var out: [[Double]] = []
        var scratch = [Double](repeating: 0, count: outputShape.reduce(1, *))
        for d in 0..<spec.directions {
            let tb = d * spec.perDirection
            let tape = kernel.forward(direction: d, x: x, xb: 0, theta: theta, tb: tb, y: &scratch, yb: 0)
            @inline(__always) func whh(_ row: Int, _ col: Int) -> Double { theta[tb + o.whh + row * Hp + col] }
            var norms: [Double] = []
            for s in 0..<T {
                let t = spec.isReversed(d) ? T - 1 - s : s
                let ab = t * G * H
                let act = { (k: Int) in tape.act[ab + k] }
                let m: Matrix
                switch spec.cell {
                case .lstm:
                    let n = Hp + H
                    var dcdh = [Double](repeating: 0, count: H * Hp), dmdh = dcdh
                    for j in 0..<H {
                        let i = act(j), f = act(H + j), g = act(2 * H + j), og = act(3 * H + j), tc = tape.aux[t * H + j]
                        let cp = tape.cPrev[t * H + j]
                        for k in 0..<Hp {
                            let dc = cp * f * (1 - f) * whh(H + j, k) + g * i * (1 - i) * whh(j, k) + i * (1 - g * g) * whh(2 * H + j, k)
                            dcdh[j * Hp + k] = dc
                            dmdh[j * Hp + k] = tc * og * (1 - og) * whh(3 * H + j, k) + og * (1 - tc * tc) * dc
                        }
                    }
                    var mm = Matrix(rows: n, cols: n, storage: [Double](repeating: 0, count: n * n))
                    for j in 0..<H {
                        let f = act(H + j), og = act(3 * H + j), tc = tape.aux[t * H + j]
                        let dmdc = og * (1 - tc * tc) * f
                        for k in 0..<Hp { mm[Hp + j, k] = dcdh[j * Hp + k] }
                        mm[Hp + j, Hp + j] = f
                        if let whr = o.whr {
                            for r in 0..<Hp {
                                let p = theta[tb + whr + r * H + j]
                                for k in 0..<Hp { mm[r, k] += p * dmdh[j * Hp + k] }
                                mm[r, Hp + j] += p * dmdc
                            }
                        } else {
                            for k in 0..<Hp { mm[j, k] = dmdh[j * Hp + k] }
                            mm[j, Hp + j] = dmdc
                        }
                    }
                    m = mm
                case .gru:
                    var mm = Matrix(rows: H, cols: H, storage: [Double](repeating: 0, count: H * H))
                    let hp = (0..<H).map { tape.hPrev[t * Hp + $0] }
                    // Before: ∂(W_hn(r⊙h))/∂h = W_hn (diag(h) ∂r/∂h + diag(r)).
                    var dahn = [Double](repeating: 0, count: H * H)
                    if !spec.resetAfter {
                        for j in 0..<H {
                            for k in 0..<H {
                                var acc = 0.0
                                for l in 0..<H {
                                    let r = act(l)
                                    let drlk = r * (1 - r) * whh(l, k)
                                    acc += whh(2 * H + j, l) * (hp[l] * drlk + (l == k ? r : 0))
                                }
                                dahn[j * H + k] = acc
                            }
                        }
                    }
                    for j in 0..<H {
                        let r = act(j), z = act(H + j), n = act(2 * H + j), ahn = tape.aux[t * H + j]
                        for k in 0..<H {
                            let dr = r * (1 - r) * whh(j, k), dz = z * (1 - z) * whh(H + j, k)
                            let pre = spec.resetAfter ? ahn * dr + r * whh(2 * H + j, k) : dahn[j * H + k]
                            mm[j, k] = (j == k ? z : 0) + (hp[j] - n) * dz + (1 - z) * (1 - n * n) * pre
                        }
                    }
                    m = mm
                case .rnnTanh, .rnnRelu:
                    var mm = Matrix(rows: H, cols: H, storage: [Double](repeating: 0, count: H * H))
                    for j in 0..<H {
                        let h = act(j), dv = spec.cell == .rnnTanh ? 1 - h * h : (h > 0 ? 1 : 0)
                        for k in 0..<H { mm[j, k] = dv * whh(j, k) }
                    }
                    m = mm
                }
                norms.append(try SVD.largestSingularValue(m))
            }
            out.append(norms)
        }
        return out
    }
}
