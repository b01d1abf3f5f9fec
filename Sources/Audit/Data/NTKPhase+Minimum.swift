import LinearAlgebra
import SpectralModel

extension NTKPhase {
    /// A bracket `[lo, hi] ∋ λ_min(K_S/N)` from the output layer, when the logits are a dense
    /// layer `f = W h + b` (W `C × m`) on flat features h. SPEC §5's NTK is a sum of positive
    /// semidefinite per-layer terms, and the output layer's is exactly `G ⊗ I_C` with
    /// `G_ij = (⟨h_i, h_j⟩ + [bias]) / N` (its B = I), so by Weyl
    /// `λ_min(K_S/N) ≥ λ_min(G) = lo` (an `N × N` eigenproblem, LAPACK). For the upper end, the
    /// Rayleigh quotient of `x = v ⊗ u` (v the bottom eigenvector of G, u that of `W Wᵀ`):
    /// `hi = xᵀ (K_S/N) x ≥ λ_min` (min–max), one product. Every earlier layer's rows are
    /// `(W ∂h/∂θ)`, so when `Wᵀ u = 0` (always when C > m) they vanish on x and `hi = lo` up to
    /// rounding — λ_min is then known exactly. Rounding: `lo` and `hi` carry absolute errors of
    /// order `N·ε·‖G‖` and `NC·ε·λ_max`, far below the Lanczos tolerance they are compared with.
    /// nil when the output is not such a layer.
    func outputLayerBracket(apply: ([Double]) throws -> [Double]) throws -> ClosedRange<Double>? {
        let c = context, model = c.model, n = c.n, C = c.C
        guard let last = model.ops.last, let dense = last.op as? DenseOp, dense.positions == 1,
              dense.outCount == C, last.inputs.count == 1 else { return nil }
        let m = dense.inCount
        var h = [Double]()
        h.reserveCapacity(n * m)
        for tape in c.tapes { h += tape.values(of: last.inputs[0]) }
        guard h.count == n * m else { return nil }
        var g = BLAS.product(h, h, transB: true, m: n, n: n, k: m)
        let inv = 1 / Double(n), b = dense.hasBias ? 1.0 : 0.0
        for i in 0..<n { for j in 0..<n { g[i * n + j] = (0.5 * (g[i * n + j] + g[j * n + i]) + b) * inv } }
        let ge = try SymmetricEigen.decompose(g, n: n)
        let w = Array(model.parameters[last.paramOffset..<(last.paramOffset + C * m)])  // C × m row-major
        var wwt = BLAS.product(w, w, transB: true, m: C, n: C, k: m)
        for i in 0..<C { for j in 0..<i { let s = 0.5 * (wwt[i * C + j] + wwt[j * C + i]); wwt[i * C + j] = s; wwt[j * C + i] = s } }
        let we = try SymmetricEigen.decompose(wwt, n: C)
        var x = [Double](repeating: 0, count: n * C)
        for i in 0..<n { for k in 0..<C { x[i * C + k] = ge.vectors[i] * we.vectors[k] } }
        let kx = try apply(x)
        let lo = Swift.max(ge.values[0], 0), hi = dot(x, kx) / dot(x, x)
        guard lo.isFinite, hi.isFinite else { return nil }
        return Swift.min(lo, hi)...Swift.max(lo, hi)  // hi < lo only by rounding (the exact case)
    }
}
