import LinearAlgebra
import SpectralModel

/// Phase 1 of the data audit (SPEC §5): per probe, the input Jacobian `J_i` (`C × d`, by C
/// reverse passes batched as k = C cotangent rows per sample) with its spectral norm, entropy and
/// τ, the saliency row of the predicted class, and from the same reverse pass the parameter
/// Jacobian's per-sample Gram `J_θ,i J_θ,iᵀ` (`C × C`; `g_θ,i = sqrt(λ_max)`), plus the
/// materialised parameter Jacobian rows when `N·C·P` is small enough for the dense NTK.
struct JacobianPhase {
    struct Result {
        var norm: [Double] = [], entropy: [Double] = [], tau: [Double] = [], gtheta: [Double] = []
        /// `n × d`: ∇_x f_ĉ(x_i) for the predicted class ĉ.
        var saliency: [Double] = []
        /// `n·C × P` when `explicit` (rows (sample, class)), else empty.
        var jtheta: [Double] = []
        var explicit = false
    }

    let context: DataAuditContext

    func run() throws -> Result {
        let c = context, model = c.model, C = c.C, d = c.d, P = c.P, cs = c.chunks.map { $0.1 - $0.0 }.max() ?? 1
        let explicit = c.n * C * P <= c.options.explicitJacobianLimit
        let seedRows: [Double] = {
            var s = [Double](repeating: 0, count: cs * C * C)
            for r in 0..<(cs * C) { s[r * C + r % C] = 1 }
            return s
        }()
        let parts: [Result] = try c.perBatch { k in
            let tape = c.tapes[k], m = tape.count
            let res = model.backward(tape, seed: Array(seedRows.prefix(m * C * C)), rowsPerSample: C,
                                     request: BackwardRequest(perSampleGram: true, perRowParameterGradients: explicit))
            var out = Result()
            for s in 0..<m {
                let j = Array(res.inputCotangent[(s * C * d)..<((s + 1) * C * d)])
                let m = try Self.sensitivity(jacobian: j, rows: C, cols: d)
                out.norm.append(m.norm)
                out.entropy.append(m.entropy)
                out.tau.append(m.tau)
                let cls = c.predicted[c.chunks[k].0 + s]
                out.saliency.append(contentsOf: j[(cls * d)..<((cls + 1) * d)])
                let g = Array(res.perSampleGram![(s * C * C)..<((s + 1) * C * C)])
                let lam = try SVD.singularValues(Matrix(rows: C, cols: C, storage: Self.symmetrized(g, C))).values.first ?? 0
                out.gtheta.append(lam.squareRoot())
            }
            if explicit { out.jtheta = res.perRowParameterGradients! }
            return out
        }
        var all = Result()
        all.explicit = explicit
        for p in parts {
            all.norm += p.norm
            all.entropy += p.entropy
            all.tau += p.tau
            all.gtheta += p.gtheta
            all.saliency += p.saliency
            all.jtheta += p.jtheta
        }
        return all
    }

    /// SPEC §5 per-sample sensitivity of a dense Jacobian (`rows × cols`, row-major, d = cols):
    /// `‖J‖₂`, the spectral entropy of J (SPEC §2) and `τ = ‖J‖_F / (sqrt(d) ‖J‖₂)`, from its
    /// singular values (LAPACK). Shared with the transformer data mode's exact path.
    static func sensitivity(jacobian j: [Double], rows: Int, cols: Int) throws -> (norm: Double, entropy: Double, tau: Double) {
        let sv = try SVD.singularValues(Matrix(rows: rows, cols: cols, storage: j)).values
        let metrics = SpectrumMetrics.compute(singularValues: sv, rows: rows, cols: cols)
        let fro = metrics.frobenius ?? 0
        return (metrics.spectralNorm, metrics.spectralEntropy ?? 0,
                metrics.spectralNorm > 0 ? fro / (Double(cols).squareRoot() * metrics.spectralNorm) : 0)
    }

    static func symmetrized(_ g: [Double], _ k: Int) -> [Double] {
        var out = g
        for a in 0..<k { for b in 0..<k { out[a * k + b] = 0.5 * (g[a * k + b] + g[b * k + a]) } }
        return out
    }
}
