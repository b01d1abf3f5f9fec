import Foundation

/// The allocation of clip levels across layers (spectral-audit-metrics(7), "Repair").
///
/// Problem: layer l's matrix has singular values `σ_{l,1} ≥ σ_{l,2} ≥ …`; clipping them at `t_l`
/// (`σ → min(σ, t_l)`) is the Frobenius-nearest way to bring its σ_max to `t_l` (Eckart–Young–
/// Mirsky) and costs `g_l(t_l) = Σ_i (σ_{l,i} − t_l)_+²`. Its factor in the network bound becomes
/// `r_l·t_l` (`r_l` = the factor per unit of σ_1: 1 for dense layers, the certified conv operator
/// norm over the reshaped σ_1 for convolutions). Minimise `Σ_l g_l(t_l)` subject to
/// `Σ_l log(r_l t_l) ≤ B` (the log budget) and `t_l ≤ cap_l`.
///
/// In `u_l = log t_l` the constraint is linear and `dG_l/du = −2 h_l(t)` with
/// `h_l(t) = t·Σ_i (σ_{l,i} − t)_+`; `G_l` is convex in `u` exactly where `h_l` is non-increasing
/// in `t`. KKT: `h_l(t_l) = μ` for every layer strictly between 0 and its upper limit, `t_l` at its
/// cap when `h_l(cap) < μ`. `t_l(μ)` is taken on the branch of `h_l` that descends from `σ_{l,1}`
/// (the one where `G_l` is convex), so `Σ log(r_l t_l(μ))` is non-increasing in μ and bisection on
/// μ meets the budget. A branch ends at `h_l`'s first local maximum; past it the layer jumps to 0,
/// and the budget left over is given back by raising the lowest levels (`fill`), which only lowers
/// the cost. The result is feasible by construction; it is a KKT point, globally optimal when every
/// level stays on its convex branch (then the problem restricted to those branches is convex).
public enum ClipAllocation {
    public struct Layer: Sendable {
        /// Descending singular values of the matrix that is clipped.
        public var singularValues: [Double]
        /// Bound factor per unit of σ_1 (> 0).
        public var ratio: Double
        /// Largest allowed level in matrix units (nil: σ_1).
        public var cap: Double?

        public init(singularValues: [Double], ratio: Double = 1, cap: Double? = nil) {
            self.singularValues = singularValues.sorted(by: >)
            self.ratio = ratio
            self.cap = cap
        }

        var top: Double { singularValues.first ?? 0 }
        /// The level this layer may not exceed.
        var upper: Double { Swift.min(top, cap ?? top) }
    }

    public struct Result: Sendable {
        /// Clip level per layer, matrix units (`≤ σ_1`; equal to σ_1: untouched).
        public var levels: [Double]
        /// `Σ_l g_l(t_l)`.
        public var cost: Double
        /// The multiplier μ of the budget constraint (0 when the budget does not bind).
        public var multiplier: Double
        /// True when some level left its convex branch (then only a feasible KKT-type point).
        public var leftConvexBranch: Bool
    }

    /// `g(t) = Σ_i (σ_i − t)_+²`.
    public static func cost(_ sigma: [Double], at t: Double) -> Double {
        sigma.reduce(0) { $0 + ($1 > t ? ($1 - t) * ($1 - t) : 0) }
    }

    /// `h(t) = t·Σ_i (σ_i − t)_+`.
    public static func stationarity(_ sigma: [Double], at t: Double) -> Double {
        t * sigma.reduce(0) { $0 + ($1 > t ? $1 - t : 0) }
    }

    /// The level on the branch of `h` descending from σ_1 where `h = μ`; 0 past the branch's end.
    /// On the segment where k values exceed t, `h(t) = t(S_k − k t)`: its larger root.
    static func level(_ sigma: [Double], multiplier mu: Double) -> (level: Double, offBranch: Bool) {
        guard let top = sigma.first, top > 0 else { return (0, false) }
        if mu <= 0 { return (top, false) }
        var s = 0.0
        for k in 1...sigma.count {
            s += sigma[k - 1]
            let next = k < sigma.count ? sigma[k] : 0
            let peak = s / (2 * Double(k))          // h's maximum on this segment's parabola
            let low = Swift.max(next, peak)
            let hLow = low * (s - Double(k) * low)
            if mu <= hLow {
                let disc = Swift.max(0, s * s - 4 * Double(k) * mu)
                let t = (s + disc.squareRoot()) / (2 * Double(k))
                return (Swift.min(Swift.max(t, low), sigma[k - 1]), false)
            }
            if peak >= next { return (0, true) }    // the branch ends inside this segment
            if next <= 0 { return (0, true) }
        }
        return (0, true)
    }

    /// Moves log budget between layers i and j (their product fixed) to the cheapest split: a
    /// 256-point grid over `log t_i`, then golden-section refinement around the best point. True
    /// when the cost went down.
    static func polishPair(_ layers: [Layer], _ t: inout [Double], _ i: Int, _ j: Int) -> Bool {
        let k = log(t[i]) + log(t[j])
        let lo = k - log(layers[j].upper), hi = log(layers[i].upper)
        guard hi > lo else { return false }
        func f(_ s: Double) -> Double {
            cost(layers[i].singularValues, at: exp(s)) + cost(layers[j].singularValues, at: Swift.min(layers[j].upper, exp(k - s)))
        }
        let current = f(log(t[i]))
        let n = 256
        var bestS = log(t[i]), bestF = current
        let step = (hi - lo) / Double(n)
        for m in 0...n {
            let s = lo + step * Double(m)
            let v = f(s)
            if v < bestF { bestF = v; bestS = s }
        }
        var a = Swift.max(lo, bestS - step), b = Swift.min(hi, bestS + step)
        let g = (5.0.squareRoot() - 1) / 2
        for _ in 0..<80 {
            let c = b - g * (b - a), d = a + g * (b - a)
            if f(c) < f(d) { b = d } else { a = c }
        }
        let mid = 0.5 * (a + b)
        if f(mid) < bestF { bestF = f(mid); bestS = mid }
        guard bestF < current * (1 - 1e-15) else { return false }
        t[i] = exp(bestS)
        t[j] = Swift.min(layers[j].upper, exp(k - bestS))
        return true
    }

    /// The allocation for log budget `budget` (natural log of the allowed product of factors).
    public static func allocate(_ layers: [Layer], logBudget budget: Double) -> Result {
        func levels(_ mu: Double) -> ([Double], Bool) {
            let (t, off) = levelsAndBranches(mu)
            return (t, off.contains(true))
        }
        func levelsAndBranches(_ mu: Double) -> ([Double], [Bool]) {
            var off: [Bool] = []
            let t = layers.map { l -> Double in
                let (v, o) = level(l.singularValues, multiplier: mu)
                off.append(v < l.upper && o)
                return Swift.min(l.upper, v)
            }
            return (t, off)
        }
        func logProduct(_ t: [Double]) -> Double {
            zip(layers, t).reduce(0) { $0 + log($1.0.ratio * $1.1) }
        }
        var (t, off) = levels(0)
        var mu = 0.0
        if logProduct(t) > budget {
            var lo = 0.0
            var hi = layers.map { l in l.singularValues.reduce(0, +) * l.top }.max() ?? 0
            for _ in 0..<200 {
                let mid = 0.5 * (lo + hi)
                if mid <= lo || mid >= hi { break }
                if logProduct(levels(mid).0) > budget { lo = mid } else { hi = mid }
            }
            mu = hi
            (t, off) = levels(hi)
            // Give back unused budget (a jump past a branch's end, or bisection slack): zero levels
            // first (their layer's factor is then whatever the others leave), lowest levels next.
            for i in t.indices where t[i] == 0 {
                let rest = budget - zip(layers, t).enumerated().reduce(0) { acc, e in
                    e.offset == i || e.element.1 == 0 ? acc : acc + log(e.element.0.ratio * e.element.1)
                }
                let others = t.enumerated().contains { $0.offset != i && $0.element == 0 }
                if !others { t[i] = Swift.min(layers[i].upper, exp(rest) / layers[i].ratio) }
            }
            var slack = budget - logProduct(t)
            if slack > 0, slack.isFinite {
                for i in t.indices.sorted(by: { t[$0] < t[$1] }) where slack > 0 && t[i] > 0 && t[i] < layers[i].upper {
                    let raised = Swift.min(layers[i].upper, t[i] * exp(slack))
                    slack -= log(raised / t[i])
                    t[i] = raised
                }
            }
        }
        // Off-branch layers: the KKT system has other solutions there, so move budget between each
        // such layer and every other clipped layer where that lowers the cost (a 1-D search per pair
        // with the pair's product fixed; feasibility is unchanged).
        if off, mu > 0 {
            let offLayers = levelsAndBranches(mu).1.enumerated().filter(\.element).map(\.offset)
            for _ in 0..<3 {
                var improved = false
                for i in offLayers {
                    for j in t.indices where j != i && t[j] > 0 && t[i] > 0 {
                        if polishPair(layers, &t, i, j) { improved = true }
                    }
                }
                if !improved { break }
            }
        }
        let total = zip(layers, t).reduce(0) { $0 + cost($1.0.singularValues, at: $1.1) }
        return Result(levels: t, cost: total, multiplier: mu, leftConvexBranch: off)
    }
}
