/// One stacked layer of an LSTM, GRU or plain (Elman) RNN, in canonical (PyTorch) layout:
/// per direction, `w_ih [G·H, F]`, `w_hh [G·H, Hp]`, `b_ih [G·H]`, `b_hh [G·H]` (those the file
/// has) and, for an LSTM with `proj_size`, `w_hr [Hp, H]`; gate rows i, f, g, o (LSTM), r, z, n
/// (GRU), h (RNN). Builders reorder Keras (i,f,c,o / z,r,h, kernels `[in, G·u]`) and ONNX
/// (i,o,f,c / z,r,h) weights into this layout.
///
/// Cells (zero initial states, `x_t` the input at step t, `a = W_ih x_t + b_ih + W_hh h + b_hh`):
/// - LSTM: `i,f,o = σ(a_·)`, `g = tanh(a_g)`, `c' = f⊙c + i⊙g`, `m = o⊙tanh(c')`, `h' = W_hr m`
///   (or `m` without projection) — `torch.nn.LSTM`, Keras `LSTM`, ONNX `LSTM` (no peepholes);
/// - GRU: `r,z = σ(a_·)`, `n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn))` (reset after the product:
///   PyTorch, Keras `reset_after=True`, ONNX `linear_before_reset=1`) or
///   `n = tanh(W_in x + b_in + W_hn (r⊙h) + b_hn)` (reset before: Keras `reset_after=False`, ONNX
///   default), `h' = (1−z)⊙n + z⊙h`;
/// - RNN: `h' = tanh(a)` or `relu(a)`.
/// A bidirectional layer runs its second direction from t = T−1 down to 0; its outputs are
/// concatenated per step (`[T, D·Hp]`), or its final states (`[D·Hp]`) when `finalState`.
public struct RecurrentLayerSpec: Sendable, Equatable {
    public enum Cell: String, Sendable { case lstm, gru, rnnTanh = "rnn_tanh", rnnRelu = "rnn_relu" }
    public var cell: Cell
    public var features: Int
    public var hidden: Int
    /// LSTM `proj_size` (nil: none).
    public var projection: Int?
    public var directions: Int
    /// A single direction that runs backwards in time (ONNX `direction=reverse`).
    public var reverseOnly = false
    public var inputBias = true
    public var recurrentBias = true
    public var resetAfter = true
    /// Output the final state(s) instead of every step's output.
    public var finalState = false

    public init(cell: Cell, features: Int, hidden: Int, projection: Int? = nil, directions: Int = 1) {
        self.cell = cell
        self.features = features
        self.hidden = hidden
        self.projection = projection
        self.directions = directions
    }

    public var gates: Int { switch cell { case .lstm: 4; case .gru: 3; default: 1 } }
    /// Hp: the size of h (the projection size when there is one).
    public var out: Int { projection ?? hidden }
    public var hasState: Bool { cell == .lstm }

    /// Offsets of a direction's blocks inside its θ (nil: absent).
    public struct Offsets: Sendable { public var wih: Int, whh: Int, bih: Int?, bhh: Int?, whr: Int?, count: Int }
    public var offsets: Offsets {
        let gh = gates * hidden
        var o = Offsets(wih: 0, whh: gh * features, bih: nil, bhh: nil, whr: nil, count: gh * features + gh * out)
        if inputBias { o.bih = o.count; o.count += gh }
        if recurrentBias { o.bhh = o.count; o.count += gh }
        if projection != nil { o.whr = o.count; o.count += out * hidden }
        return o
    }
    public var perDirection: Int { offsets.count }
    func isReversed(_ d: Int) -> Bool { d == 1 || reverseOnly }
}

/// What a direction's forward pass keeps for BPTT (per step t in time order).
struct RecurrentTape<S: RecurrentScalar> {
    /// h_{t−1} (`T × Hp`), c_{t−1} (`T × H`, LSTM).
    var hPrev: [S], cPrev: [S]
    /// Gate activations (`T × G·H`).
    var act: [S]
    /// LSTM: tanh(c_t); GRU: `W_hn h + b_hn` (reset after) or `W_hn(r⊙h) + b_hn` (before); `T × H`.
    var aux: [S]
    /// LSTM with projection: m_t (`T × H`).
    var m: [S]
}

/// The cells' forward pass and back-propagation through time, generic over `RecurrentScalar`.
struct RecurrentKernel {
    let spec: RecurrentLayerSpec
    let steps: Int

    /// `y[yb + i] += Σ_j W[wb + (r0 + i)·cols + j] v[vb + j]` for i < rows.
    @inline(__always) func gemv<S: RecurrentScalar>(_ w: [S], _ wb: Int, rows: Int, cols: Int, r0: Int, _ v: [S], _ vb: Int,
                                                  _ y: inout [S], _ yb: Int) {
        for i in 0..<rows {
            var acc = y[yb + i]
            let base = wb + (r0 + i) * cols
            for j in 0..<cols { acc = acc + w[base + j] * v[vb + j] }
            y[yb + i] = acc
        }
    }

    /// `y[yb + j] += Σ_i W[wb + (r0 + i)·cols + j] u[ub + i]` for j < cols.
    @inline(__always) func gemvT<S: RecurrentScalar>(_ w: [S], _ wb: Int, rows: Int, cols: Int, r0: Int, _ u: [S], _ ub: Int,
                                                   _ y: inout [S], _ yb: Int) {
        for i in 0..<rows {
            let ui = u[ub + i]
            let base = wb + (r0 + i) * cols
            for j in 0..<cols { y[yb + j] = y[yb + j] + w[base + j] * ui }
        }
    }

    /// `G[gb + (r0 + i)·cols + j] += u[ub + i] v[vb + j]`.
    @inline(__always) func outer<S: RecurrentScalar>(_ g: inout [S], _ gb: Int, rows: Int, cols: Int, r0: Int, _ u: [S], _ ub: Int,
                                                   _ v: [S], _ vb: Int) {
        for i in 0..<rows {
            let ui = u[ub + i]
            let base = gb + (r0 + i) * cols
            for j in 0..<cols { g[base + j] = g[base + j] + ui * v[vb + j] }
        }
    }

    /// Runs direction `d` on one sample (`x[xb …]`, `T × F`), writing its outputs into `y`
    /// (row layout of the op's output at `yb`); θ of the direction starts at `tb`.
    func forward<S: RecurrentScalar>(direction d: Int, x: [S], xb: Int, theta: [S], tb: Int, y: inout [S], yb: Int) -> RecurrentTape<S> {
        let T = steps, F = spec.features, H = spec.hidden, Hp = spec.out, G = spec.gates, o = spec.offsets
        let D = spec.directions, zero = S(0), one = S(1)
        var tape = RecurrentTape<S>(hPrev: [S](repeating: zero, count: T * Hp), cPrev: spec.hasState ? [S](repeating: zero, count: T * H) : [],
                                    act: [S](repeating: zero, count: T * G * H), aux: [S](repeating: zero, count: T * H),
                                    m: spec.projection != nil ? [S](repeating: zero, count: T * H) : [])
        var h = [S](repeating: zero, count: Hp), c = [S](repeating: zero, count: H)
        var a = [S](repeating: zero, count: G * H), ah = [S](repeating: zero, count: H), q = [S](repeating: zero, count: Hp)
        for s in 0..<T {
            let t = spec.isReversed(d) ? T - 1 - s : s
            for j in 0..<Hp { tape.hPrev[t * Hp + j] = h[j] }
            for k in 0..<(G * H) {
                a[k] = (o.bih.map { theta[tb + $0 + k] } ?? zero)
                if spec.cell != .gru || k < 2 * H { a[k] = a[k] + (o.bhh.map { theta[tb + $0 + k] } ?? zero) }
            }
            gemv(theta, tb + o.wih, rows: G * H, cols: F, r0: 0, x, xb + t * F, &a, 0)
            let ab = t * G * H
            switch spec.cell {
            case .lstm:
                gemv(theta, tb + o.whh, rows: 4 * H, cols: Hp, r0: 0, h, 0, &a, 0)
                var m = [S](repeating: zero, count: H)
                for j in 0..<H {
                    let i = a[j].sigmoid, f = a[H + j].sigmoid, g = a[2 * H + j].tanh, og = a[3 * H + j].sigmoid
                    tape.act[ab + j] = i; tape.act[ab + H + j] = f; tape.act[ab + 2 * H + j] = g; tape.act[ab + 3 * H + j] = og
                    tape.cPrev[t * H + j] = c[j]
                    c[j] = f * c[j] + i * g
                    let tc = c[j].tanh
                    tape.aux[t * H + j] = tc
                    m[j] = og * tc
                }
                if let whr = o.whr {
                    for j in 0..<H { tape.m[t * H + j] = m[j] }
                    for j in 0..<Hp { h[j] = zero }
                    gemv(theta, tb + whr, rows: Hp, cols: H, r0: 0, m, 0, &h, 0)
                } else {
                    h = m
                }
            case .gru:
                gemv(theta, tb + o.whh, rows: 2 * H, cols: H, r0: 0, h, 0, &a, 0)
                for j in 0..<H {
                    let r = a[j].sigmoid
                    tape.act[ab + j] = r
                    tape.act[ab + H + j] = a[H + j].sigmoid
                    ah[j] = o.bhh.map { theta[tb + $0 + 2 * H + j] } ?? zero
                    q[j] = spec.resetAfter ? h[j] : r * h[j]
                }
                gemv(theta, tb + o.whh, rows: H, cols: H, r0: 2 * H, q, 0, &ah, 0)
                for j in 0..<H {
                    let r = tape.act[ab + j], z = tape.act[ab + H + j]
                    tape.aux[t * H + j] = ah[j]
                    let n = (a[2 * H + j] + (spec.resetAfter ? r * ah[j] : ah[j])).tanh
                    tape.act[ab + 2 * H + j] = n
                    h[j] = (one - z) * n + z * h[j]
                }
            case .rnnTanh, .rnnRelu:
                gemv(theta, tb + o.whh, rows: H, cols: H, r0: 0, h, 0, &a, 0)
                for j in 0..<H {
                    h[j] = spec.cell == .rnnTanh ? a[j].tanh : a[j].relu
                    tape.act[ab + j] = h[j]
                }
            }
            if !spec.finalState { for j in 0..<Hp { y[yb + t * D * Hp + d * Hp + j] = h[j] } }
        }
        if spec.finalState { for j in 0..<Hp { y[yb + d * Hp + j] = h[j] } }
        return tape
    }

    /// BPTT of direction `d` for one cotangent row `gy[gyb …]` (the op's output layout): adds
    /// `J_xᵀ ȳ` into `gx[gxb …]` and, when `gtheta` is non-empty, the direction's parameter
    /// gradient into `gtheta[tb …]`.
    func backward<S: RecurrentScalar>(direction d: Int, tape: RecurrentTape<S>, x: [S], xb: Int, theta: [S], tb: Int,
                                      gy: [S], gyb: Int, gx: inout [S], gxb: Int, gtheta: inout [S]) {
        let T = steps, F = spec.features, H = spec.hidden, Hp = spec.out, G = spec.gates, o = spec.offsets
        let D = spec.directions, zero = S(0), one = S(1), wantTheta = !gtheta.isEmpty, wantX = !gx.isEmpty
        var dh = [S](repeating: zero, count: Hp), dc = [S](repeating: zero, count: H)
        var da = [S](repeating: zero, count: G * H), dm = [S](repeating: zero, count: H), dq = [S](repeating: zero, count: H)
        var dhPrev = [S](repeating: zero, count: Hp)
        if spec.finalState { for j in 0..<Hp { dh[j] = gy[gyb + d * Hp + j] } }
        for s in stride(from: T - 1, through: 0, by: -1) {
            let t = spec.isReversed(d) ? T - 1 - s : s
            if !spec.finalState { for j in 0..<Hp { dh[j] = dh[j] + gy[gyb + t * D * Hp + d * Hp + j] } }
            let ab = t * G * H, hb = t * Hp
            for j in 0..<Hp { dhPrev[j] = zero }
            switch spec.cell {
            case .lstm:
                if let whr = o.whr {
                    if wantTheta { outer(&gtheta, tb + whr, rows: Hp, cols: H, r0: 0, dh, 0, tape.m, t * H) }
                    for j in 0..<H { dm[j] = zero }
                    gemvT(theta, tb + whr, rows: Hp, cols: H, r0: 0, dh, 0, &dm, 0)
                } else {
                    for j in 0..<H { dm[j] = dh[j] }
                }
                for j in 0..<H {
                    let i = tape.act[ab + j], f = tape.act[ab + H + j], g = tape.act[ab + 2 * H + j], og = tape.act[ab + 3 * H + j]
                    let tc = tape.aux[t * H + j]
                    let dcj = dc[j] + dm[j] * og * (one - tc * tc)
                    da[j] = dcj * g * i * (one - i)
                    da[H + j] = dcj * tape.cPrev[t * H + j] * f * (one - f)
                    da[2 * H + j] = dcj * i * (one - g * g)
                    da[3 * H + j] = dm[j] * tc * og * (one - og)
                    dc[j] = dcj * f
                }
                gemvT(theta, tb + o.whh, rows: 4 * H, cols: Hp, r0: 0, da, 0, &dhPrev, 0)
                if wantTheta { outer(&gtheta, tb + o.whh, rows: 4 * H, cols: Hp, r0: 0, da, 0, tape.hPrev, hb) }
            case .gru:
                var dan = [S](repeating: zero, count: H)
                for j in 0..<H {
                    let z = tape.act[ab + H + j], n = tape.act[ab + 2 * H + j], hp = tape.hPrev[hb + j]
                    dhPrev[j] = dh[j] * z
                    da[H + j] = dh[j] * (hp - n) * z * (one - z)
                    dan[j] = dh[j] * (one - z) * (one - n * n)
                    da[2 * H + j] = dan[j]
                }
                // The candidate's recurrent part: ah = W_hn q + b_hn with q = h (after) or r⊙h (before).
                for j in 0..<H {
                    let r = tape.act[ab + j]
                    dq[j] = spec.resetAfter ? dan[j] * r : dan[j]   // ∂/∂ah
                }
                var dqh = [S](repeating: zero, count: H)   // Whnᵀ ∂ah
                gemvT(theta, tb + o.whh, rows: H, cols: H, r0: 2 * H, dq, 0, &dqh, 0)
                if wantTheta {
                    var qv = [S](repeating: zero, count: H)
                    for j in 0..<H { qv[j] = spec.resetAfter ? tape.hPrev[hb + j] : tape.act[ab + j] * tape.hPrev[hb + j] }
                    outer(&gtheta, tb + o.whh, rows: H, cols: H, r0: 2 * H, dq, 0, qv, 0)
                    if let bhh = o.bhh { for j in 0..<H { gtheta[tb + bhh + 2 * H + j] = gtheta[tb + bhh + 2 * H + j] + dq[j] } }
                }
                for j in 0..<H {
                    let r = tape.act[ab + j], hp = tape.hPrev[hb + j]
                    let dr = spec.resetAfter ? dan[j] * tape.aux[t * H + j] : dqh[j] * hp
                    if spec.resetAfter { dhPrev[j] = dhPrev[j] + dqh[j] } else { dhPrev[j] = dhPrev[j] + dqh[j] * r }
                    da[j] = dr * r * (one - r)
                }
                gemvT(theta, tb + o.whh, rows: 2 * H, cols: H, r0: 0, da, 0, &dhPrev, 0)
                if wantTheta {
                    outer(&gtheta, tb + o.whh, rows: 2 * H, cols: H, r0: 0, da, 0, tape.hPrev, hb)
                    if let bhh = o.bhh { for k in 0..<(2 * H) { gtheta[tb + bhh + k] = gtheta[tb + bhh + k] + da[k] } }
                }
            case .rnnTanh, .rnnRelu:
                for j in 0..<H {
                    let hv = tape.act[ab + j]
                    da[j] = spec.cell == .rnnTanh ? dh[j] * (one - hv * hv) : (hv.primal > 0 ? dh[j] : zero)
                }
                gemvT(theta, tb + o.whh, rows: H, cols: H, r0: 0, da, 0, &dhPrev, 0)
                if wantTheta { outer(&gtheta, tb + o.whh, rows: H, cols: H, r0: 0, da, 0, tape.hPrev, hb) }
            }
            if wantTheta {
                outer(&gtheta, tb + o.wih, rows: G * H, cols: F, r0: 0, da, 0, x, xb + t * F)
                if let bih = o.bih { for k in 0..<(G * H) { gtheta[tb + bih + k] = gtheta[tb + bih + k] + da[k] } }
                if let bhh = o.bhh, spec.cell != .gru { for k in 0..<(G * H) { gtheta[tb + bhh + k] = gtheta[tb + bhh + k] + da[k] } }
            }
            if wantX { gemvT(theta, tb + o.wih, rows: G * H, cols: F, r0: 0, da, 0, &gx, gxb + t * F) }
            swap(&dh, &dhPrev)
        }
    }
}
