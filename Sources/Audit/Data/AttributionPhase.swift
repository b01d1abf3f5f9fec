import Foundation
import LinearAlgebra
import SpectralModel

/// Phase 4 of the data audit (SPEC §5): attribution stability
/// `AI(x; ε) = mean_t (1 − cos(a(x), a(x + δ_t)))` with `a(x) = ∇_x f_ĉ(x)` (ĉ = argmax f(x), kept
/// for the perturbed inputs) and δ uniform on the sphere of radius `ε‖x‖`, drawn from a
/// SplitMix64 seeded per probe from the audit's seed. One batched forward and reverse pass per
/// batch of probes × draws.
struct AttributionPhase {
    let context: DataAuditContext
    /// `n × d` saliency rows of the unperturbed probes (from the Jacobian phase).
    let saliency: [Double]

    func run() throws -> (values: [Double], note: String) {
        let c = context, d = c.d, C = c.C, options = c.options
        let S = options.attributionSamples, eps = options.attributionEpsilon
        let parts: [[Double]] = try c.perBatch { k in
            let (a, b) = c.chunks[k]
            let m = b - a
            var xs: [Double] = []
            xs.reserveCapacity(m * S * d)
            for s in 0..<m {
                xs += Self.perturbations(of: Array(c.x[((a + s) * d)..<((a + s + 1) * d)]), probe: a + s, draws: S, epsilon: eps,
                                         seed: options.seed)
            }
            let tape = c.model.forward(xs, count: m * S)
            var seed = [Double](repeating: 0, count: m * S * C)
            for s in 0..<m { for t in 0..<S { seed[(s * S + t) * C + c.predicted[a + s]] = 1 } }
            let g = c.model.backward(tape, seed: seed).inputCotangent
            var out = [Double](repeating: 0, count: m)
            for s in 0..<m {
                out[s] = Self.instability(saliency: Array(saliency[((a + s) * d)..<((a + s + 1) * d)]),
                                          perturbed: Array(g[(s * S * d)..<((s + 1) * S * d)]), draws: S)
            }
            return out
        }
        let note = "attribution: a(x) = ∇_x f_ĉ(x) with ĉ = argmax f(x) kept for the perturbed inputs; δ uniform on the sphere of radius ε‖x‖ (\(S) draws, SplitMix64 seeded per probe from seed \(options.seed)); cos = 1 when both saliencies vanish, 0 when one does"
        return (parts.flatMap { $0 }, note)
    }

    /// The `draws` perturbed copies `x + δ_t` (`draws × d`) of probe number `probe`: δ uniform on
    /// the sphere of radius `ε‖x‖`, from SplitMix64 seeded `seed ^ (probe · 0x9E3779B97F4A7C15) ^ 0xA77`
    /// (the transformer data mode draws its embedding perturbations the same way).
    static func perturbations(of x: [Double], probe i: Int, draws S: Int, epsilon eps: Double, seed: UInt64) -> [Double] {
        let d = x.count, radius = eps * dot(x, x).squareRoot()
        var rng = SplitMix64(seed: seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) ^ 0xA77)
        var xs = [Double](repeating: 0, count: S * d)
        for t in 0..<S {
            let dir = gaussianDirection(d, &rng)
            for e in 0..<d { xs[t * d + e] = x[e] + radius * dir[e] }
        }
        return xs
    }

    /// `AI = mean_t (1 − cos(a, a_t))` over the `draws` perturbed saliencies (`draws × d`).
    static func instability(saliency a: [Double], perturbed g: [Double], draws S: Int) -> Double {
        let d = a.count
        var acc = 0.0
        for t in 0..<S { acc += 1 - cosine(a, Array(g[(t * d)..<((t + 1) * d)])) }
        return acc / Double(S)
    }

    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let na = dot(a, a).squareRoot(), nb = dot(b, b).squareRoot()
        if na == 0 && nb == 0 { return 1 }
        if na == 0 || nb == 0 { return 0 }
        return Swift.max(-1, Swift.min(1, dot(a, b) / (na * nb)))
    }

    /// A unit vector uniform on the sphere (normalised Gaussian, Box–Muller).
    static func gaussianDirection(_ d: Int, _ rng: inout SplitMix64) -> [Double] {
        var v = [Double](repeating: 0, count: d)
        var i = 0
        while i < d {
            let u1 = (Double(rng.next() >> 11) + 1) * 0x1.0p-53  // (0, 1]
            let u2 = Double(rng.next() >> 11) * 0x1.0p-53
            let r = (-2 * Foundation.log(u1)).squareRoot()
            v[i] = r * Foundation.cos(2 * Double.pi * u2)
            if i + 1 < d { v[i + 1] = r * Foundation.sin(2 * Double.pi * u2) }
            i += 2
        }
        let nrm = dot(v, v).squareRoot()
        return nrm > 0 ? v.map { $0 / nrm } : v
    }
}
