import LinearAlgebra
import SpectralModel

extension TransformerDataAudit {
    /// A bracket `[0, hi] ∋ λ_min(K_S/N)` for the transformer NTK when the audited output is a
    /// LayerNorm (BERT's last block, GPT-2's `ln_f`): `h_r = γ ⊙ x̂_r + β` on each of the R = N·n
    /// output rows, `x̂_r = (z_r − μ_r)/s_r`, `s_r = sqrt(var(z_r) + ε)`.
    ///
    /// Structure (LayerNormOp's derivatives): every parameter before the norm reaches h_r through
    /// `∂h_r/∂z_r = diag(γ) A_r`, `A_r = (1/s_r)(I − 11ᵀ/d − x̂_r x̂_rᵀ/d)` symmetric, and
    /// `A_r 1 = −x̂_r m(x̂_r)/s_r = 0` (x̂_r has mean 0) for every ε. So a cotangent with rows
    /// `v_r = a_r (1 ⊘ γ)` (γ without zeros) has `J_θᵀ v = 0` on all those parameters, and its
    /// gradient on the norm's own parameters is `∂/∂β = Σ_r a_r (1 ⊘ γ)`,
    /// `∂/∂γ = (1 ⊘ γ) ⊙ Σ_r a_r x̂_r`. Both vanish when `a ⊥ 1` (with β) and `a ⊥ x̂[:, c]` for
    /// every channel c: d + 1 linear conditions on R unknowns. When R > d + 1 such an `a ≠ 0` exists,
    /// so `K_S` is singular and `λ_min(K_S/N) = 0` exactly (null space of dimension ≥ R − d − 1).
    ///
    /// Computation: `a` is a seeded random vector with its part in the span of `1` and the d
    /// columns `x̂[:, c]` removed (`NTKPhase.leastOutputDirection` on the `R × (d+1)` matrix
    /// `[1 | x̂]`, which leaves those conditions at rounding level); `hi` is the Rayleigh quotient of
    /// the resulting `v` under the same product as the Lanczos iteration (one product), an upper
    /// bound of λ_min for any v by min–max, and 0 is a lower bound since K_S is positive
    /// semidefinite. So the bracket is rigorous whatever the rounding; `hi` is expected at
    /// rounding level (≈ 1e-15 of λ_max), far inside the Lanczos tolerance, which then settles
    /// λ_min as soon as λ_max has converged (`Lanczos.symmetricExtremes`'s `minBracket`).
    ///
    /// nil (Lanczos and `--ntk-min-budget` as before) when the output is not a centring LayerNorm up
    /// to identity reshapes (RMSNorm's `A_r 1 ≠ 0`; a task head), γ has a zero entry, R ≤ d + 1, or
    /// the eigenproblem of the `(d+1) × (d+1)` Gram would cost more than ~2³³ flops.
    static func layerNormNullBracket(_ model: ForwardModel, tapes: [ForwardTape], dimension: Int, seed: UInt64,
                                     apply: ([Double]) throws -> [Double]) throws -> (bracket: ClosedRange<Double>, nullity: Int)? {
        // The output is the norm's, possibly through identity reshapes (the `[n·d]` last hidden state).
        var slot = model.ops.count - 1
        while let g = model.ops[slot].op as? GatherOp, model.ops[slot].inputs.count == 1,
              g.map.count == model.ops[model.ops[slot].inputs[0]].size, g.map.indices.allSatisfy({ g.map[$0] == $0 }) {
            slot = model.ops[slot].inputs[0]
        }
        let last = model.ops[slot]
        guard let norm = last.op as? LayerNormOp, !norm.rms, last.inputs.count == 1 else { return nil }
        let d = norm.outputShape.last!
        guard d >= 1, dimension % d == 0 else { return nil }
        let R = dimension / d
        guard R > d + 1 else { return nil }
        let gamma = norm.hasGamma ? Array(model.parameters[last.paramOffset..<(last.paramOffset + d)]) : [Double](repeating: 1, count: d)
        guard gamma.allSatisfy({ $0 != 0 && $0.isFinite }) else { return nil }
        // W = [1 | x̂] row-major R × (d+1), rows in probe order (batches in order).
        let m = d + 1
        var w = [Double]()
        w.reserveCapacity(R * m)
        for tape in tapes {
            let z = tape.values(of: last.inputs[0])
            for p in 0..<(z.count / d) {
                let row = z[(p * d)..<((p + 1) * d)]
                let mu = row.reduce(0, +) / Double(d)
                let v = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(d)
                let inv = 1 / (v + norm.epsilon).squareRoot()
                w.append(norm.hasBeta ? 1 : 0)
                for x in row { w.append((x - mu) * inv) }
            }
        }
        guard w.count == R * m, w.allSatisfy({ $0.isFinite }) else { return nil }
        guard let a = try NTKPhase.leastOutputDirection(w, C: R, m: m, seed: seed ^ 0x4C4E) else { return nil }
        var v = [Double](repeating: 0, count: R * d)
        for r in 0..<R { for c in 0..<d { v[r * d + c] = a[r] / gamma[c] } }
        let kv = try apply(v)
        var num = 0.0, den = 0.0
        for i in 0..<v.count { num += v[i] * kv[i]; den += v[i] * v[i] }
        let hi = num / den
        guard hi.isFinite else { return nil }
        return (0...Swift.max(hi, 0), R - m)
    }
}
