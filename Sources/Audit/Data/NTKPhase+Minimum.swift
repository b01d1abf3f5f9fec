import LinearAlgebra
import SpectralModel

extension NTKPhase {
    /// A bracket `[lo, hi] ∋ λ_min(K_S/N)` from the output layer, when the logits are a dense
    /// layer `f = W h + b` (W `C × m`) on flat features h. SPEC §5's NTK is a sum of positive
    /// semidefinite per-layer terms, and the output layer's is exactly `G ⊗ I_C` with
    /// `G_ij = (⟨h_i, h_j⟩ + [bias]) / N` (its B = I), so by Weyl
    /// `λ_min(K_S/N) ≥ λ_min(G) = lo` (an `N × N` eigenproblem, LAPACK). For the upper end, the
    /// Rayleigh quotient of `x = v ⊗ u` (v the bottom eigenvector of G, u a unit vector with
    /// `‖Wᵀu‖` least or ≈ 0, `leastOutputDirection`):
    /// `hi = xᵀ (K_S/N) x ≥ λ_min` (min–max), one product. Every earlier layer's rows are
    /// `(W ∂h/∂θ)`, so when `Wᵀ u = 0` (always when C > m) they vanish on x and `hi = lo` up to
    /// rounding — λ_min is then known exactly. Rounding: `lo` and `hi` carry absolute errors of
    /// order `N·ε·‖G‖` and `NC·ε·λ_max`, far below the Lanczos tolerance they are compared with.
    /// nil when the output is not such a layer, when N > 2048, or when W's Gram would cost more
    /// than ~2³³ flops.
    func outputLayerBracket(apply: ([Double]) throws -> [Double]) throws -> ClosedRange<Double>? {
        let c = context, model = c.model, n = c.n, C = c.C
        guard let last = model.ops.last, let dense = last.op as? DenseOp, dense.positions == 1,
              dense.outCount == C, last.inputs.count == 1 else { return nil }
        let m = dense.inCount
        guard n <= 2048 else { return nil }
        var h = [Double]()
        h.reserveCapacity(n * m)
        for tape in c.tapes { h += tape.values(of: last.inputs[0]) }
        guard h.count == n * m else { return nil }
        var g = BLAS.product(h, h, transB: true, m: n, n: n, k: m)
        let inv = 1 / Double(n), b = dense.hasBias ? 1.0 : 0.0
        for i in 0..<n { for j in 0..<n { g[i * n + j] = (0.5 * (g[i * n + j] + g[j * n + i]) + b) * inv } }
        let ge = try SymmetricEigen.decompose(g, n: n)
        let w = Array(model.parameters[last.paramOffset..<(last.paramOffset + C * m)])  // C × m row-major
        guard let u = try Self.leastOutputDirection(w, C: C, m: m, seed: c.options.seed) else { return nil }
        var x = [Double](repeating: 0, count: n * C)
        for i in 0..<n { for k in 0..<C { x[i * C + k] = ge.vectors[i] * u[k] } }
        let kx = try apply(x)
        let lo = Swift.max(ge.values[0], 0), hi = dot(x, kx) / dot(x, x)
        guard lo.isFinite, hi.isFinite else { return nil }
        return Swift.min(lo, hi)...Swift.max(lo, hi)  // hi < lo only by rounding (the exact case)
    }

    /// A unit `u ∈ R^C` with `‖Wᵀu‖` small (W `C × m` row-major): the bottom eigenvector of `W Wᵀ`
    /// when C ≤ m; when C > m, a seeded random vector with its part in range(W) removed (range(W)
    /// from the eigenvectors of `WᵀW` whose eigenvalues exceed 1e-12 of the largest), which leaves
    /// `Wᵀu` at rounding level. Any unit u keeps `hi` an upper bound; this one makes it tight.
    /// nil when the `min(C, m)²·max(C, m)` flops of the Gram exceed `maxFlops` (2³³ unless the
    /// caller weighs it against its own product's cost).
    static func leastOutputDirection(_ w: [Double], C: Int, m: Int, seed: UInt64, maxFlops: Double = 8_589_934_592) throws -> [Double]? {
        guard Double(Swift.min(C, m)) * Double(Swift.min(C, m)) * Double(Swift.max(C, m)) <= maxFlops else { return nil }
        if C <= m {
            let e = try SymmetricEigen.decompose(BLAS.product(w, w, transB: true, m: C, n: C, k: m), n: C)
            return Array(e.vectors[0..<C])
        }
        let e = try SymmetricEigen.decompose(BLAS.product(w, transA: true, w, m: m, n: m, k: C), n: m)
        var rng = SplitMix64(seed: seed ^ 0x4E544C)
        var u = (0..<C).map { _ in rng.nextSigned() }
        let top = e.values.last ?? 0
        let kept = (0..<m).filter { e.values[$0] > 1e-12 * top }
        for _ in 0..<2 {  // twice, as Gram–Schmidt
            // With q_k = W v_k / s_k (orthonormal, spanning range(W)): u −= Σ_k q_k (q_kᵀu)
            // = W Σ_k v_k (v_kᵀ Wᵀu) / s_k², two products with W instead of one per k.
            let t = BLAS.product(w, transA: true, u, m: m, n: 1, k: C)
            var s = [Double](repeating: 0, count: m)
            for k in kept {
                let v = e.vectors[(k * m)..<((k + 1) * m)]
                var c = 0.0
                for (j, x) in v.enumerated() { c += x * t[j] }
                c /= e.values[k]
                for (j, x) in v.enumerated() { s[j] += c * x }
            }
            let ws = BLAS.product(w, s, m: C, n: 1, k: m)
            for i in 0..<C { u[i] -= ws[i] }
        }
        let nu = dot(u, u).squareRoot()
        guard nu > 0, nu.isFinite else { return nil }
        return u.map { $0 / nu }
    }
}
