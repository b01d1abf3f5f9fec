import LinearAlgebra
import SpectralModel

/// Phase 2 of the data audit (SPEC §5): the empirical NTK `K_S = J_S J_Sᵀ / N` (`g_K = λ_max`,
/// `λ_min`, condition) and the Gauss–Newton matrix `G = J_Sᵀ H_ℓ J_S / N` through its factor
/// `R_i` (`H_ℓ,i = R_i R_iᵀ`; cross-entropy `R = diag(√p) − p √pᵀ`, mse `R = I`), which has the
/// nonzero spectrum of `Rᵀ K_S R / N`.
///
/// Dense when the parameter Jacobian was materialised (SVD of `J_S` and of `R J_S`), otherwise
/// matrix-free: symmetric Lanczos (`Lanczos.symmetricExtremes`) on products
/// `K_S v = J_S (J_Sᵀ v)`, one reverse pass (parameter gradient) and one forward-mode pass per
/// product, batched. The λ_min budget (`ntkLambdaMinBudget`, flag `--ntk-min-budget`) caps the
/// products spent on the bottom of the spectrum after λ_max has converged.
struct NTKPhase {
    struct Result {
        var gK: Double
        var lambdaMin: Double?
        var condition: Double?
        var gaussNewtonMax: Double
        var notes: [String]
    }

    let context: DataAuditContext
    /// Softmax of the logits, `n × C`.
    let probs: [Double]
    let loss: LossKind

    /// `R_i v` and `R_iᵀ v`.
    func factor(_ i: Int, _ v: [Double], transpose: Bool) -> [Double] {
        let C = context.C
        guard loss == .crossEntropy else { return v }
        let p = Array(probs[(i * C)..<((i + 1) * C)])
        if transpose {
            let pv = zip(p, v).reduce(0.0) { $0 + $1.0 * $1.1 }
            return (0..<C).map { p[$0].squareRoot() * (v[$0] - pv) }
        }
        let sv = zip(p, v).reduce(0.0) { $0 + $1.0.squareRoot() * $1.1 }
        return (0..<C).map { p[$0].squareRoot() * v[$0] - p[$0] * sv }
    }

    func run(jacobians jac: JacobianPhase.Result) throws -> Result {
        let c = context, n = c.n, C = c.C, P = c.P, NC = n * C, options = c.options
        var notes: [String] = []
        if loss == .crossEntropy {
            notes.append("Gauss–Newton part: H_ℓ = diag(p) − p pᵀ with p the model's softmax (the cross-entropy Hessian in the logits does not depend on the labels)")
        } else {
            notes.append("Gauss–Newton part: mse, ℓ = ½‖f − y‖², H_ℓ = I (so λ_max(G) = g_K)")
        }
        if jac.explicit {
            let js = jac.jtheta  // NC × P, rows (sample, class)
            let sv = try SVD.singularValues(Matrix(rows: NC, cols: P, storage: js)).values
            let s1 = sv.first ?? 0
            let gK = s1 * s1 / Double(n)
            var ntkMin: Double?, ntkCond: Double?
            if NC <= P, let last = sv.last {
                ntkMin = last * last / Double(n)
                let tol = s1 * Double(Swift.max(NC, P)) * Double.ulpOfOne
                ntkCond = last > tol ? (s1 * s1) / (last * last) : nil
            } else {
                ntkMin = 0
                notes.append("NTK: N·C = \(NC) > P = \(P), so K_S is singular (λ_min = 0)")
            }
            // Row c of M_i = Σ_a R_i[a, c] J_i[a, :].
            var m = [Double](repeating: 0, count: NC * P)
            for i in 0..<n {
                for cls in 0..<C {
                    var e = [Double](repeating: 0, count: C)
                    e[cls] = 1
                    let col = factor(i, e, transpose: false)
                    for a in 0..<C where col[a] != 0 {
                        let w = col[a], src = (i * C + a) * P, dst = (i * C + cls) * P
                        for q in 0..<P { m[dst + q] += w * js[src + q] }
                    }
                }
            }
            let gsv = try SVD.singularValues(Matrix(rows: NC, cols: P, storage: m)).values.first ?? 0
            notes.append("NTK and Gauss–Newton spectra: dense, from the materialised N·C × P parameter Jacobian")
            return Result(gK: gK, lambdaMin: ntkMin, condition: ntkCond, gaussNewtonMax: gsv * gsv / Double(n), notes: notes)
        }

        let bracket = try outputLayerBracket { try apply($0, factored: false) }
        let kr = try Self.extremes(dimension: NC, options: options, minBracket: bracket) { try apply($0, factored: false) }
        let gK = kr.gK, ntkMin = kr.lambdaMin, ntkCond = kr.condition
        notes += kr.notes
        let gr = try Lanczos.symmetricExtremes(dimension: NC, tolerance: options.lanczosTolerance,
                                               maxIterations: options.lanczosMaxIterations, seed: options.seed ^ 0x474E,
                                               needMin: false) { try apply($0, factored: true) }
        notes.append("Gauss–Newton: symmetric Lanczos on Rᵀ K_S R / N (same nonzero spectrum as G), \(gr.iterations) products\(gr.convergedMax ? "" : ", not converged: a lower bound")")
        return Result(gK: gK, lambdaMin: ntkMin, condition: ntkCond, gaussNewtonMax: gr.lambdaMax, notes: notes)
    }

    /// Matrix-free `g_K = λ_max(K_S/N)`, `λ_min` and condition by symmetric Lanczos on `apply`
    /// (`v ↦ K_S v / N`, order NC) — the stored basis or, when it would not fit in
    /// `lanczosBasisBytes`, the two-pass Lanczos (`BudgetedLanczos`) —, tolerance `lanczosTolerance`, at most `lanczosMaxIterations`
    /// steps and `ntkLambdaMinBudget` more for λ_min after λ_max has converged (`--ntk-min-budget`);
    /// λ_min null (with a note) when the bottom is not resolved within it; condition null when
    /// λ_min ≤ 10·tolerance·λ_max. `minBracket` (`outputLayerBracket`, one product more) settles
    /// λ_min as soon as λ_max has converged when its width is within the tolerance. Shared with
    /// the transformer data mode.
    static func extremes(dimension NC: Int, options: DataAuditOptions, minBracket: ClosedRange<Double>? = nil,
                         minBracketSource: String = "from the output dense layer (its NTK term G ⊗ I_C bounds λ_min below; the Rayleigh quotient of v_min(G) ⊗ u above, u the unit vector least amplified by Wᵀ; one product)",
                         apply: ([Double]) throws -> [Double]) throws
        -> (gK: Double, lambdaMin: Double?, condition: Double?, iterations: Int, notes: [String]) {
        var notes: [String] = []
        // Stored basis or two-pass Lanczos by the basis budget (`BudgetedLanczos`): N·C is N·n·V for an LM head.
        let out = try BudgetedLanczos.extremes(dimension: NC, bytes: options.lanczosBasisBytes, maxIterations: options.lanczosMaxIterations,
                                               tolerance: options.lanczosTolerance, seed: options.seed ^ 0x4E544B,
                                               minBudget: options.ntkLambdaMinBudget, minBracket: minBracket, apply: apply)
        let kr = out.extremes
        if let br = minBracket {
            notes.append("NTK: λ_min ∈ [\(br.lowerBound), \(br.upperBound)] \(minBracketSource)\(kr.minFromBracket ? ", which settles λ_min within the Lanczos tolerance (rigorous error \(kr.errorMin))" : "")")
        }
        var ntkMin: Double?, ntkCond: Double?
        if !kr.convergedMax {
            notes.append("NTK: Lanczos did not reach tolerance \(options.lanczosTolerance) for λ_max in \(kr.iterations) steps; g_K is a Ritz value (a lower bound), error estimate \(kr.errorMax)")
        }
        if kr.convergedMin {
            ntkMin = Swift.max(kr.lambdaMin, 0)
            ntkCond = kr.lambdaMin > 10 * options.lanczosTolerance * kr.lambdaMax ? kr.lambdaMax / kr.lambdaMin : nil
        } else {
            notes.append("NTK: λ_min not reported: Lanczos had not resolved the bottom of the spectrum after \(kr.iterations) steps (\(out.twoPass ? "Rayleigh-quotient" : "Ritz") upper bound \(kr.lambdaMin), error estimate \(kr.errorMin)); raise the budget or lower N for it")
        }
        notes.append(out.twoPass
            ? "NTK: \(out.method) J_S(J_Sᵀ v) (one reverse and one forward-mode pass each) on K_S/N (N·C = \(NC)): a basis of \(options.lanczosMaxIterations) vectors of N·C would exceed the Lanczos basis budget of \(options.lanczosBasisBytes) bytes"
            : "NTK: symmetric Lanczos on K_S/N (N·C = \(NC)), \(kr.iterations) products J_S(J_Sᵀ v) (one reverse and one forward-mode pass each), full reorthogonalisation")
        return (kr.lambdaMax, ntkMin, ntkCond, out.products, notes)
    }

    /// `K_S v / N` (or `Rᵀ K_S R v / N`): the parameter gradient of `Σ_i ⟨v_i, f(x_i)⟩` by one
    /// reverse pass per batch, summed in batch order, then its forward-mode image per batch.
    func apply(_ v: [Double], factored: Bool) throws -> [Double] {
        let c = context, C = c.C, model = c.model
        let grads: [[Double]] = try c.perBatch { k in
            let (a, b) = c.chunks[k]
            var seed = Array(v[(a * C)..<(b * C)])
            if factored {
                for s in 0..<(b - a) {
                    let r = factor(a + s, Array(seed[(s * C)..<((s + 1) * C)]), transpose: false)
                    for cls in 0..<C { seed[s * C + cls] = r[cls] }
                }
            }
            return model.backward(c.tapes[k], seed: seed, request: BackwardRequest(parameterGradient: true, inputCotangent: false))
                .parameterGradient!
        }
        var gsum = grads[0]
        for k in 1..<grads.count { addInPlace(&gsum, grads[k]) }
        let g = model.prepareTangent(gsum)
        let outs: [[Double]] = try c.perBatch { k in
            let (a, b) = c.chunks[k]
            var o = model.jvp(c.tapes[k], inputTangent: nil, parameterTangent: g).last!
            if factored {
                for s in 0..<(b - a) {
                    let r = factor(a + s, Array(o[(s * C)..<((s + 1) * C)]), transpose: true)
                    for cls in 0..<C { o[s * C + cls] = r[cls] }
                }
            }
            return o
        }
        let inv = 1 / Double(c.n)
        return outs.flatMap { $0 }.map { $0 * inv }
    }
}
