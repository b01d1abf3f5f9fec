import LinearAlgebra
import SpectralModel

extension TransformerDataAudit {
    /// A bracket `[lo, hi] ∋ λ_min(K_S/N)` when the audited output is a position-wise dense layer
    /// (an LM head's `lm_head` / MLM decoder, tied to the word embeddings or not, up to identity
    /// reshapes): `f_r = W h_r + b` on the R = N·p output rows r = (probe, position), W `C × m`
    /// (C = V for an LM head). This is `NTKPhase.outputLayerBracket` (SPEC §5, crepe5) for p ≥ 1
    /// positions per probe: the parameters of this layer enter only it (the word-embedding lookup
    /// happens before the network, so a tied W is the head's own parameter block), and its NTK term
    /// is exactly `G ⊗ I_C` with `G_rs = (⟨h_r, h_s⟩ + [bias]) / N`
    /// (`∂f_{r,k}/∂W_{k',j} = δ_{kk'} h_{r,j}`). Every other term of K_S/N is positive semidefinite,
    /// so `λ_min(K_S/N) ≥ λ_min(G) = lo` (Weyl; an R × R eigenproblem, LAPACK). The upper end is the
    /// Rayleigh quotient of `x = v ⊗ u` (v the bottom eigenvector of G, u a unit vector of C with
    /// `Wᵀu ≈ 0`, `NTKPhase.leastOutputDirection`), one product: every earlier layer reaches f only
    /// through W, so its rows vanish on x when `Wᵀu = 0` (always possible when C > m, as for every
    /// LM head) and `hi = lo` up to rounding — λ_min is known as soon as λ_max has converged, instead
    /// of after the `--ntk-min-budget` products on an N·n·V-dimensional output.
    ///
    /// Cost: the `m × m` Gram `WᵀW` (`m²·C` multiply-adds) is allowed up to `32·R·P` (or 2³³):
    /// one NTK product is a parameter VJP and a parameter JVP over every parameter for each of the R
    /// rows, at least `8·R·P` multiply-adds, so the Gram costs at most about four products — against
    /// the `--ntk-min-budget` products (50) it saves. nil when the output is not such a layer,
    /// R > 2048, or the Gram costs more.
    static func outputDenseBracket(_ model: ForwardModel, tapes: [ForwardTape], probes N: Int, seed: UInt64,
                                   apply: ([Double]) throws -> [Double]) throws -> ClosedRange<Double>? {
        var slot = model.ops.count - 1
        while let g = model.ops[slot].op as? GatherOp, model.ops[slot].inputs.count == 1,
              g.map.count == model.ops[model.ops[slot].inputs[0]].size, g.map.indices.allSatisfy({ g.map[$0] == $0 }) {
            slot = model.ops[slot].inputs[0]
        }
        let last = model.ops[slot]
        guard let dense = last.op as? DenseOp, last.inputs.count == 1 else { return nil }
        let C = dense.outCount, m = dense.inCount, p = dense.positions, R = N * p
        guard R >= 1, R <= 2048, model.outputCount == p * C else { return nil }
        var h = [Double]()
        h.reserveCapacity(R * m)
        for tape in tapes { h += tape.values(of: last.inputs[0]) }
        guard h.count == R * m, h.allSatisfy({ $0.isFinite }) else { return nil }
        var g = BLAS.product(h, h, transB: true, m: R, n: R, k: m)
        let inv = 1 / Double(N), b = dense.hasBias ? 1.0 : 0.0
        for i in 0..<R { for j in i..<R {
            let v = (0.5 * (g[i * R + j] + g[j * R + i]) + b) * inv
            g[i * R + j] = v
            g[j * R + i] = v
        } }
        let ge = try SymmetricEigen.decompose(g, n: R)
        let w = Array(model.parameters[last.paramOffset..<(last.paramOffset + C * m)])  // C × m row-major
        let allowed = Swift.max(8_589_934_592, 32 * Double(R) * Double(model.parameterCount))
        guard let u = try NTKPhase.leastOutputDirection(w, C: C, m: m, seed: seed, maxFlops: allowed) else { return nil }
        // Output order: probe, position, class — row r = probe·p + position.
        var x = [Double](repeating: 0, count: R * C)
        for r in 0..<R { for k in 0..<C { x[r * C + k] = ge.vectors[r] * u[k] } }
        let kx = try apply(x)
        var num = 0.0, den = 0.0
        for i in 0..<x.count { num += x[i] * kx[i]; den += x[i] * x[i] }
        let lo = Swift.max(ge.values[0], 0), hi = num / den
        guard lo.isFinite, hi.isFinite else { return nil }
        return Swift.min(lo, hi)...Swift.max(lo, hi)  // hi < lo only by rounding (the exact case)
    }
}
