import LinearAlgebra
import SpectralModel

/// Typical-case sensitivity and attribution stability of the transformer data mode, per probe, on
/// the input Jacobian `J = ∂h/∂x` (`D × D`, D = n·d: input embeddings → last hidden state), with
/// SPEC §5's definitions as the generic `JacobianPhase` / `AttributionPhase` use them:
///
/// - spectral entropy of J (SPEC §2, `p_i = σ_i² / Σ σ_j²`) and `τ = ‖J‖_F / (sqrt(D) ‖J‖₂)`.
///   **Exact** when `D ≤ DataAuditOptions.transformerExactSpectrumLimit`: J from D reverse rows
///   (one batched VJP pass), singular values by LAPACK (`JacobianPhase.sensitivity`), error 0.
///   Otherwise by **stochastic Lanczos quadrature** on `JᵀJ` (`StochasticLanczos.rules(dimension:…)`,
///   `transformerSLQProbes` Rademacher probes × at most `transformerSLQSteps` steps; each block
///   product is one batched JVP and one batched VJP on a forward tape of the probe replicated once
///   per SLQ probe, J never formed): `‖J‖_F² = tr JᵀJ` by Hutchinson and `H` by
///   `StochasticLanczos.entropy`: the midpoint of the Gauss / Gauss–Radau(0) bracket of the same
///   start vectors, with stated error = two standard errors over the start vectors (≈ 95 %) + the
///   bracket's half-width (a bound on the quadrature error of those vectors). Stopping rule: the
///   run ends after the first step (≥ 2) at which the half-width is ≤ `transformerSLQStopFraction`
///   × the two standard errors, else at the cap; whatever step it ends at, the half-width then is
///   in the stated error. τ uses the certified Lanczos σ_max of the caller and only `tr JᵀJ`, which
///   both rules integrate exactly (no quadrature error); its error is `τ · err(‖J‖_F²) / (2 ‖J‖_F²)`.
/// - attribution stability `AI(x; ε)`: saliency `a(x) = ∇_x h_ĉ(x)` with ĉ = argmax over the D
///   outputs of h(x) (the generic definition with f = the flattened hidden state), perturbations
///   drawn exactly as the generic phase draws them (`AttributionPhase.perturbations`, probe index
///   i), `AI = mean_t (1 − cos)` (`AttributionPhase.instability`).
enum TransformerSensitivity {
    struct Spectrum {
        var entropy: Double
        var entropyError: Double
        var tau: Double
        var tauError: Double
        var exact: Bool
        /// SLQ only: the quadrature half-width inside `entropyError`, and the Lanczos steps taken.
        var quadratureHalfWidth = 0.0
        var steps = 0
    }

    static func spectrum(model: ForwardModel, tape: ForwardTape, x: [Double], mask: [Bool]?, sigmaMax: Double, probe i: Int,
                         options: DataAuditOptions) throws -> Spectrum {
        let D = x.count, R = model.outputCount  // R = D, or a head's logits
        if Swift.max(D, R) <= options.transformerExactSpectrumLimit {
            var seed = [Double](repeating: 0, count: R * R)
            for r in 0..<R { seed[r * R + r] = 1 }
            let j = model.backward(tape, seed: seed, rowsPerSample: R).inputCotangent  // row r = ∂h_r/∂x
            let m = try JacobianPhase.sensitivity(jacobian: j, rows: R, cols: D)
            return Spectrum(entropy: m.entropy, entropyError: 0, tau: m.tau, tauError: 0, exact: true)
        }
        let s = Swift.max(2, options.transformerSLQProbes)
        var xs = [Double](repeating: 0, count: s * D)
        for t in 0..<s { for e in 0..<D { xs[t * D + e] = x[e] } }
        let replicated = model.forward(xs, count: s, replicating: tape)  // the probe's mask and channels
        var tangents = [Double](repeating: 0, count: s * D)
        let stop = options.transformerSLQStopFraction.map { fraction in
            { (r: [StochasticLanczos.Rule]) -> Bool in StochasticLanczos.entropy(r, dimension: D).converged(fraction: fraction) }
        }
        let rules = try StochasticLanczos.rules(dimension: D, probes: s, steps: options.transformerSLQSteps,
                                                seed: options.seed ^ 0x51C0 ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15), stop: stop) { v, w in
            // V is D × s (column t = SLQ probe t); the engine wants one sample per row.
            for t in 0..<s { for e in 0..<D { tangents[t * D + e] = v[e * s + t] } }
            let jv = model.jvp(replicated, inputTangent: tangents, parameterTangent: nil as [Double]?).last!
            let jtjv = model.backward(replicated, seed: jv).inputCotangent
            for t in 0..<s { for e in 0..<D { w[e * s + t] = jtjv[t * D + e] } }
        }
        let est = StochasticLanczos.entropy(rules, dimension: D)
        let fro = est.trace.squareRoot()
        let tau = sigmaMax > 0 ? fro / (Double(D).squareRoot() * sigmaMax) : 0
        return Spectrum(entropy: est.entropy, entropyError: est.entropyError, tau: tau,
                        tauError: est.trace > 0 ? tau * est.traceError / (2 * est.trace) : 0, exact: false,
                        quadratureHalfWidth: est.quadratureHalfWidth, steps: est.steps)
    }

    static func attribution(model: ForwardModel, tape: ForwardTape, x: [Double], mask: [Bool]?, probe i: Int, options: DataAuditOptions) -> Double {
        let S = options.attributionSamples, D = x.count, h = tape.output
        let c = h.indices.max { h[$0] < h[$1] }!
        var e = [Double](repeating: 0, count: h.count)
        e[c] = 1
        let saliency = model.backward(tape, seed: e).inputCotangent
        let xs = AttributionPhase.perturbations(of: x, probe: i, draws: S, epsilon: options.attributionEpsilon, seed: options.seed)
        let perturbed = model.forward(xs, count: S, replicating: tape)  // the probe's mask and channels
        var seed = [Double](repeating: 0, count: S * h.count)
        for t in 0..<S { seed[t * h.count + c] = 1 }
        let g = model.backward(perturbed, seed: seed).inputCotangent
        return AttributionPhase.instability(saliency: Array(saliency.prefix(D)), perturbed: g, draws: S)
    }
}
