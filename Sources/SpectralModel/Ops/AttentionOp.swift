import Foundation

/// Multi-head scaled dot-product attention on a sequence (the core of a transformer's self-attention;
/// the Q, K, V and output projections are `DenseOp`s around it, rotary positions a `RotaryOp`).
/// Inputs `Q [n, H·d_h]`, `K, V [n, H_kv·d_h]` (grouped-query attention: query head h reads
/// key/value head `h / (H/H_kv)`, as Hugging Face's `repeat_kv`); output `[n, H·d_h]`:
/// `S_ik = c·q_i·k_k` (c = `scale`, default `1/√d_h`), `P_i = softmax_k(S_ik)` over the allowed keys,
/// `o_i = Σ_k P_ik v_k`. A key k is allowed for query i unless `causal` and k > i, or the key mask
/// (attribute `mask`, `1`/`0` per position: Hugging Face's `attention_mask`, whose additive form
/// `(1 − m)·min_float` gives exactly these zeros after softmax) excludes it; a per-sample key mask
/// carried by the tape (`OpContext.keyMasks`) excludes keys the same way, so one compiled model
/// serves samples with different padding. Parameter-free.
///
/// Derivatives (per sample and head; `⟨·⟩_P` the P_i-weighted mean over k):
/// - JVP: `Ṡ_ik = c(q̇_i·k_k + q_i·k̇_k)`, `Ṗ_ik = P_ik(Ṡ_ik − ⟨Ṡ_i⟩_P)`, `ȯ_i = Σ_k Ṗ_ik v_k + P_ik v̇_k`.
/// - VJP: `Ḡ_ik = ō_i·v_k`, `S̄_ik = P_ik(Ḡ_ik − ⟨Ḡ_i⟩_P)`, `q̄_i = c Σ_k S̄_ik k_k`,
///   `k̄_k = c Σ_i S̄_ik q_i`, `v̄_k = Σ_i P_ik ō_i`.
/// - Second order (Pearlmutter's R-operator of the VJP): `R{Ḡ_ik} = R{ō_i}·v_k + ō_i·v̇_k`,
///   `R{S̄_ik} = Ṗ_ik(Ḡ_ik − ⟨Ḡ_i⟩_P) + P_ik(R{Ḡ_ik} − Σ_k'(Ṗ_ik'Ḡ_ik' + P_ik'R{Ḡ_ik'}))`,
///   `R{q̄_i} = c Σ_k (R{S̄_ik} k_k + S̄_ik k̇_k)`, `R{k̄_k} = c Σ_i (R{S̄_ik} q_i + S̄_ik q̇_i)`,
///   `R{v̄_k} = Σ_i (Ṗ_ik ō_i + P_ik R{ō_i})`. All exact (tested against finite differences).
/// Lipschitz: none globally (Kim, Papamakarios & Mnih 2021); a transformer's attention sublayer
/// gets the local bound of `LocalBounds.attentionHead` on a stated domain (n, input row norms).
public struct AttentionOp: ParameterFreeOp, OpBuilder {
    public let name: String
    public let sequenceLength: Int
    public let heads: Int
    public let keyValueHeads: Int
    public let headDim: Int
    public let scale: Double
    public let causal: Bool
    /// Per key position: false when masked out (empty: all allowed).
    public let keyMask: [Bool]

    public var outputShape: [Int] { [sequenceLength, heads * headDim] }
    public var lipschitz: LipschitzRule {
        .unbounded(reason: "dot-product attention has no global Lipschitz constant (Kim, Papamakarios & Mnih 2021); the transformer section gives its local bound on a stated domain")
    }
    public var report: OpReport {
        OpReport(kind: "attention", detail: "\(heads) heads (\(keyValueHeads) key/value) × \(headDim)\(causal ? ", causal" : "")")
    }

    public init(name: String, sequenceLength: Int, heads: Int, keyValueHeads: Int, headDim: Int, scale: Double? = nil,
                causal: Bool, keyMask: [Bool] = []) {
        self.name = name
        self.sequenceLength = sequenceLength
        self.heads = heads
        self.keyValueHeads = keyValueHeads
        self.headDim = headDim
        self.scale = scale ?? 1 / Double(headDim).squareRoot()
        self.causal = causal
        self.keyMask = keyMask
    }

    /// `.parameterized("ScaledDotProductAttention", [])` with inputs Q, K, V and attributes
    /// `heads`, `kv_heads`, `head_dim`, optional `causal` (`true`), `mask` (`1,1,0,…`), `scale`.
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized("ScaledDotProductAttention", _) = node.kind else { return nil }
        let a = node.attributes
        guard b.inputSlots.count == 3, let h = a["heads"].flatMap(Int.init), let hkv = a["kv_heads"].flatMap(Int.init),
              let dh = a["head_dim"].flatMap(Int.init), h > 0, hkv > 0, dh > 0, h % hkv == 0 else {
            throw ForwardModelError("layer '\(node.name)': attention needs Q, K, V inputs and heads, kv_heads (dividing heads), head_dim")
        }
        let sq = b.inputShape(0), sk = b.inputShape(1), sv = b.inputShape(2)
        guard sq.count == 2, sq[1] == h * dh, sk == [sq[0], hkv * dh], sv == sk else {
            throw ForwardModelError("layer '\(node.name)': attention inputs \(sq), \(sk), \(sv) do not fit \(h) heads (\(hkv) key/value) of \(dh)")
        }
        var mask: [Bool] = []
        if let m = a["mask"], !m.isEmpty {
            mask = m.split(separator: ",").map { $0 != "0" }
            guard mask.count == sq[0] else { throw ForwardModelError("layer '\(node.name)': mask of \(mask.count) for \(sq[0]) positions") }
        }
        let scale = a["scale"].flatMap(Double.init)
        let op = AttentionOp(name: node.name, sequenceLength: sq[0], heads: h, keyValueHeads: hkv, headDim: dh, scale: scale,
                             causal: a["causal"] == "true", keyMask: mask)
        guard op.allowedRanges.allSatisfy({ !$0.isEmpty }) else {
            throw ForwardModelError("layer '\(node.name)': a query position has no key to attend to (mask all zero)")
        }
        return try b.emit(op, inputs: b.inputSlots)
    }

    /// Allowed keys per query.
    var allowedRanges: [[Int]] { allowedRanges(sampleMask: nil) }

    /// Allowed keys per query with a sample's own key mask (`OpContext.keyMasks`) on top of the
    /// op's causal rule and static `keyMask`.
    func allowedRanges(sampleMask m: [Bool]?) -> [[Int]] {
        (0..<sequenceLength).map { i in
            (0..<sequenceLength).filter { k in (!causal || k <= i) && (keyMask.isEmpty || keyMask[k]) && (m == nil || m![k]) }
        }
    }

    /// True when every query keeps at least one key under `mask` (else the softmax is undefined).
    public func admits(sampleMask mask: [Bool]) -> Bool {
        mask.count == sequenceLength && allowedRanges(sampleMask: mask).allSatisfy { !$0.isEmpty }
    }

    /// Allowed keys per query for each sample of the batch (`ctx.keyMasks`, else the op's own);
    /// `allowed[s]` for sample s (distinct masks computed once).
    func allowed(_ ctx: OpContext) -> [[[Int]]] {
        guard let masks = ctx.keyMasks else { return [[[Int]]](repeating: allowedRanges, count: ctx.n) }
        var cache: [[Bool]: [[Int]]] = [:]
        return masks.map { m in
            if let r = cache[m] { return r }
            let r = allowedRanges(sampleMask: m)
            cache[m] = r
            return r
        }
    }

    var group: Int { heads / keyValueHeads }
    var qWidth: Int { heads * headDim }
    var kWidth: Int { keyValueHeads * headDim }

    @inline(__always) func dotp(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>) -> Double {
        var s = 0.0
        for e in 0..<headDim { s += a[e] * b[e] }
        return s
    }

    /// Softmax rows P for every sample and head, `n·H·n·n` (row (s, h, i), column k; 0 where masked).
    func probabilities(_ q: [Double], _ k: [Double], samples: Int, allowed perSample: [[[Int]]]) -> [Double] {
        let n = sequenceLength
        var p = [Double](repeating: 0, count: samples * heads * n * n)
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                p.withUnsafeMutableBufferPointer { pp in
                    for s in 0..<samples {
                        let allowed = perSample[s]
                        for h in 0..<heads {
                            let j = h / group
                            for i in 0..<n {
                                let row = pp.baseAddress! + ((s * heads + h) * n + i) * n
                                let qi = qp.baseAddress! + s * n * qWidth + i * qWidth + h * headDim
                                var mx = -Double.infinity
                                for kk in allowed[i] {
                                    let v = scale * dotp(qi, kp.baseAddress! + s * n * kWidth + kk * kWidth + j * headDim)
                                    row[kk] = v
                                    mx = Swift.max(mx, v)
                                }
                                var sum = 0.0
                                for kk in allowed[i] { let e = Foundation.exp(row[kk] - mx); row[kk] = e; sum += e }
                                for kk in allowed[i] { row[kk] /= sum }
                            }
                        }
                    }
                }
            }
        }
        return p
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        let n = sequenceLength, perSample = allowed(ctx)
        let p = probabilities(ctx.inputs[0], ctx.inputs[1], samples: ctx.n, allowed: perSample)
        var o = [Double](repeating: 0, count: ctx.n * n * qWidth)
        ctx.inputs[2].withUnsafeBufferPointer { vp in
            for s in 0..<ctx.n {
                let allowed = perSample[s]
                for h in 0..<heads {
                    let j = h / group
                    for i in 0..<n {
                        let ob = s * n * qWidth + i * qWidth + h * headDim, pb = ((s * heads + h) * n + i) * n
                        for kk in allowed[i] {
                            let w = p[pb + kk], vb = s * n * kWidth + kk * kWidth + j * headDim
                            for e in 0..<headDim { o[ob + e] += w * vp[vb + e] }
                        }
                    }
                }
            }
        }
        return (o, OpSaved(values: p))
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        vjp(input.gy, rows: ctx.n, rowsPerSample: 1, ctx: ctx, into: &gx)
        let wantQ = !rgx[0].isEmpty, wantK = !rgx[1].isEmpty, wantV = !rgx[2].isEmpty
        guard wantQ || wantK || wantV else { return }
        let n = sequenceLength, perSample = allowed(ctx), p = ctx.saved.values
        let q = ctx.inputs[0], k = ctx.inputs[1], v = ctx.inputs[2]
        let g = input.gy, rg = input.rgy
        let dq = input.dx[0], dk = input.dx[1], dv = input.dx[2]
        var gp = [Double](repeating: 0, count: n), rgp = gp, ds = gp, dp = gp
        for s in 0..<ctx.n {
            let allowed = perSample[s]
            for h in 0..<heads {
                let j = h / group
                for i in 0..<n {
                    let pb = ((s * heads + h) * n + i) * n
                    let qb = s * n * qWidth + i * qWidth + h * headDim
                    func kb(_ kk: Int) -> Int { s * n * kWidth + kk * kWidth + j * headDim }
                    // Ṗ from the tangents of Q and K.
                    var mds = 0.0
                    for kk in allowed[i] {
                        var t = 0.0
                        if let dq { for e in 0..<headDim { t += dq[qb + e] * k[kb(kk) + e] } }
                        if let dk { for e in 0..<headDim { t += q[qb + e] * dk[kb(kk) + e] } }
                        ds[kk] = scale * t
                        mds += p[pb + kk] * ds[kk]
                    }
                    for kk in allowed[i] { dp[kk] = p[pb + kk] * (ds[kk] - mds) }
                    var m = 0.0, rm = 0.0
                    for kk in allowed[i] {
                        var t = 0.0, rt = 0.0
                        for e in 0..<headDim { t += g[qb + e] * v[kb(kk) + e]; rt += rg[qb + e] * v[kb(kk) + e] }
                        if let dv { for e in 0..<headDim { rt += g[qb + e] * dv[kb(kk) + e] } }
                        gp[kk] = t
                        rgp[kk] = rt
                        m += p[pb + kk] * t
                    }
                    for kk in allowed[i] { rm += dp[kk] * gp[kk] + p[pb + kk] * rgp[kk] }
                    for kk in allowed[i] {
                        let w = p[pb + kk], b = kb(kk)
                        let gs = scale * w * (gp[kk] - m)
                        let rgs = scale * (dp[kk] * (gp[kk] - m) + w * (rgp[kk] - rm))
                        if wantQ {
                            for e in 0..<headDim { rgx[0][qb + e] += rgs * k[b + e] }
                            if let dk { for e in 0..<headDim { rgx[0][qb + e] += gs * dk[b + e] } }
                        }
                        if wantK {
                            for e in 0..<headDim { rgx[1][b + e] += rgs * q[qb + e] }
                            if let dq { for e in 0..<headDim { rgx[1][b + e] += gs * dq[qb + e] } }
                        }
                        if wantV { for e in 0..<headDim { rgx[2][b + e] += dp[kk] * g[qb + e] + w * rg[qb + e] } }
                    }
                }
            }
        }
    }
}

extension AttentionOp: NodeLipschitzSource {
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .parameterized("ScaledDotProductAttention", _) = node.kind else { return nil }
        return NodeLipschitz(.unbounded(reason: "dot-product attention has no global Lipschitz constant (Kim, Papamakarios & Mnih 2021)"), chainKind: "attention")
    }
}
