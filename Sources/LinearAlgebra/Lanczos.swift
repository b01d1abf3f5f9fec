/// Golub–Kahan–Lanczos bidiagonalisation with full reorthogonalisation, for the largest singular
/// values of a matrix or of any linear operator given by its products `x ↦ Ax`, `y ↦ Aᵀy`.
///
/// After j steps, `A V_j = U_j B_j` and `Aᵀ U_j = V_j B_jᵀ + β_{j+1} v_{j+1} e_jᵀ` with `B_j` upper
/// bidiagonal. For each singular triplet `(θ_i, x_i, y_i)` of `B_j`, the Ritz pair
/// `(U_j x_i, V_j y_i)` has `A V_j y_i = θ_i U_j x_i` exactly and residual
/// `r_i = ‖Aᵀ U_j x_i − θ_i V_j y_i‖ = β_{j+1} |e_jᵀ x_i|`. Hence (Weyl / Wielandt for the
/// Jordan–Wielandt matrix) some singular value of A lies in `[θ_i − r_i, θ_i + r_i]`, and by
/// interlacing `θ_i ≤ σ_i(A)`. `certificate = max_{i≤k} r_i` (rigorous). The iteration stops
/// when the error estimate `max_{i≤k} min(r_i, r_i²/gap_i) ≤ tolerance · θ_1` (see
/// `errorEstimate`; the quadratic term uses gaps estimated from Ritz values, so the stated
/// `tolerance` is an estimate — the test suite checks it against full spectra — while
/// `[θ_i, θ_i + r_i]` is a bracket that holds unless the start vector missed a singular vector). Both vector sets are reorthogonalised twice (classical Gram–Schmidt,
/// "twice is enough"). The start vector is drawn from a seeded SplitMix64 generator, so results are
/// deterministic. On breakdown (an invariant subspace: α or β below `1e-13 ·` the running norm
/// estimate) the iteration continues with a fresh seeded vector orthogonal to the basis.
public enum Lanczos {
    /// A linear operator `R^cols → R^rows` given by its two products (buffers never alias).
    public struct Operator {
        public let rows: Int
        public let cols: Int
        /// `y ← A x`, x of length `cols`, y of length `rows`.
        public let apply: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void
        /// `x ← Aᵀ y`, y of length `rows`, x of length `cols`.
        public let applyTranspose: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void

        public init(rows: Int, cols: Int,
                    apply: @escaping (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void,
                    applyTranspose: @escaping (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void) {
            self.rows = rows
            self.cols = cols
            self.apply = apply
            self.applyTranspose = applyTranspose
        }

        /// The operator of a dense matrix (`dgemv`).
        public init(matrix a: Matrix) {
            let storage = a.storage
            let m = a.rows, n = a.cols
            self.init(rows: m, cols: n, apply: { x, y in
                storage.withUnsafeBufferPointer { ap in
                    LAPACKCalls.gemv(transpose: false, rows: m, cols: n, alpha: 1, ap.baseAddress!,
                                     x.baseAddress!, beta: 0, y.baseAddress!)
                }
            }, applyTranspose: { y, x in
                storage.withUnsafeBufferPointer { ap in
                    LAPACKCalls.gemv(transpose: true, rows: m, cols: n, alpha: 1, ap.baseAddress!,
                                     y.baseAddress!, beta: 0, x.baseAddress!)
                }
            })
        }
    }

    /// The `k` largest singular values of `op` (see the type's documentation for the guarantee).
    /// Throws `.notConverged` when `maxIterations` steps do not reach the tolerance.
    public static func topK(_ op: Operator, k: Int, tolerance: Double, seed: UInt64 = 0x5EED,
                            maxIterations: Int = 500) throws -> SingularValueResult {
        // A wide operator (m < n) runs on Aᵀ (same singular values). From the narrow side, the
        // m-th step leaves U spanning R^m but `Aᵀ U_m = V_m B_mᵀ + β v e_mᵀ` with β ≠ 0 in general,
        // so B_m's values are not A's although the basis is "complete"; from the wide side the
        // basis V reaches R^m with β = 0 and `A = U_m B_m V_mᵀ` holds exactly.
        if op.rows < op.cols {
            let t = Operator(rows: op.cols, cols: op.rows, apply: op.applyTranspose, applyTranspose: op.apply)
            return try topK(t, k: k, tolerance: tolerance, seed: seed, maxIterations: maxIterations)
        }
        let m = op.rows, n = op.cols, p = Swift.min(m, n)
        guard k >= 1, k <= p else { throw LinearAlgebraError.invalidArgument("k = \(k) for a \(m)×\(n) operator") }
        let maxDim = Swift.min(p, Swift.max(k, maxIterations))
        var rng = SplitMix64(seed: seed)
        var U = [Double](), V = [Double]()
        U.reserveCapacity(maxDim * m)
        V.reserveCapacity((maxDim + 1) * n)
        var alpha = [Double](), beta = [Double]()
        var normEstimate = 0.0
        var pv = [Double](repeating: 0, count: m)
        var rv = [Double](repeating: 0, count: n)
        var coef = [Double](repeating: 0, count: maxDim + 1)

        V.append(contentsOf: randomUnit(n, orthogonalTo: V, count: 0, rng: &rng, coef: &coef))
        var last: (values: [Double], residuals: [Double]) = ([], [])
        for j in 0..<maxDim {
            // p = A v_j − β_j u_{j−1}
            V.withUnsafeBufferPointer { vp in
                pv.withUnsafeMutableBufferPointer { op.apply(UnsafeBufferPointer(rebasing: vp[(j * n)..<((j + 1) * n)]), $0) }
            }
            if j > 0 { let b = beta[j - 1]; for i in 0..<m { pv[i] -= b * U[(j - 1) * m + i] } }
            reorthogonalize(&pv, against: U, count: j, coef: &coef)
            var a = pv.withUnsafeBufferPointer { LAPACKCalls.nrm2(m, $0.baseAddress!) }
            normEstimate = Swift.max(normEstimate, a)
            if a <= 1e-13 * normEstimate {
                a = 0
                pv = randomUnit(m, orthogonalTo: U, count: j, rng: &rng, coef: &coef)
            } else {
                let inv = 1 / a
                for i in 0..<m { pv[i] *= inv }
            }
            U.append(contentsOf: pv)
            alpha.append(a)
            // r = Aᵀ u_j − α_j v_j
            U.withUnsafeBufferPointer { up in
                rv.withUnsafeMutableBufferPointer { op.applyTranspose(UnsafeBufferPointer(rebasing: up[(j * m)..<((j + 1) * m)]), $0) }
            }
            for i in 0..<n { rv[i] -= a * V[j * n + i] }
            reorthogonalize(&rv, against: V, count: j + 1, coef: &coef)
            var b = rv.withUnsafeBufferPointer { LAPACKCalls.nrm2(n, $0.baseAddress!) }
            normEstimate = Swift.max(normEstimate, b)
            let dim = j + 1
            var next: [Double]
            if b <= 1e-13 * normEstimate || dim == n {
                b = 0
                next = dim < n ? randomUnit(n, orthogonalTo: V, count: dim, rng: &rng, coef: &coef) : []
            } else {
                let inv = 1 / b
                next = rv.map { $0 * inv }
            }
            beta.append(b)

            if dim >= k && (dim <= 48 || dim % 4 == 0 || dim == maxDim) {
                let (theta, x) = try LAPACKCalls.bidiagonalSVD(diagonal: alpha, superdiagonal: Array(beta[0..<(dim - 1)]))
                let resAll = (0..<dim).map { b * Swift.abs(x[$0 * dim + dim - 1]) }
                let res = Array(resAll.prefix(k))
                let err = (0..<k).map { errorEstimate(index: $0, theta: theta, residuals: resAll) }
                last = (Array(theta.prefix(k)), res)
                let worst = res.max() ?? 0
                let worstErr = err.max() ?? 0
                if worstErr <= tolerance * theta[0] || dim == p {
                    return SingularValueResult(values: last.values, method: .lanczosTopK, isComplete: k == p,
                                               tolerance: theta[0] > 0 ? worstErr / theta[0] : 0,
                                               certificate: worst, iterations: dim)
                }
            }
            if next.isEmpty { break }
            V.append(contentsOf: next)
        }
        let worst = last.residuals.max() ?? .infinity
        throw LinearAlgebraError.notConverged(iterations: alpha.count,
                                              achievedRelativeResidual: (last.values.first ?? 0) > 0 ? worst / last.values[0] : .infinity)
    }

    /// Error estimate of Ritz value i: `min(r_i, r_i² / gap_i)` (the quadratic Rayleigh–Ritz
    /// bound, as PROPACK and ARPACK use), with `gap_i = min_{j≠i} (|θ_i − θ_j| − r_j)` — the
    /// distance to the other Ritz values shrunk by their own residuals, so unconverged
    /// neighbours make it conservative. Falls back to `r_i` when that gap is not positive.
    static func errorEstimate(index i: Int, theta: [Double], residuals r: [Double]) -> Double {
        var gap = Double.infinity
        for j in 0..<theta.count where j != i {
            gap = Swift.min(gap, Swift.abs(theta[i] - theta[j]) - r[j])
        }
        guard gap > 0, gap.isFinite else { return r[i] }
        return Swift.min(r[i], r[i] * r[i] / gap)
    }

    /// Two passes of classical Gram–Schmidt of `x` against the first `count` rows of `basis`.
    static func reorthogonalize(_ x: inout [Double], against basis: [Double], count: Int, coef: inout [Double]) {
        if count == 0 { return }
        let len = x.count
        for _ in 0..<2 {
            basis.withUnsafeBufferPointer { bp in
                x.withUnsafeMutableBufferPointer { xp in
                    coef.withUnsafeMutableBufferPointer { cp in
                        LAPACKCalls.gemv(transpose: false, rows: count, cols: len, alpha: 1, bp.baseAddress!,
                                         UnsafePointer(xp.baseAddress!), beta: 0, cp.baseAddress!)
                        LAPACKCalls.gemv(transpose: true, rows: count, cols: len, alpha: -1, bp.baseAddress!,
                                         UnsafePointer(cp.baseAddress!), beta: 1, xp.baseAddress!)
                    }
                }
            }
        }
    }

    /// A seeded random unit vector orthogonal to the first `count` rows of `basis`.
    static func randomUnit(_ len: Int, orthogonalTo basis: [Double], count: Int,
                           rng: inout SplitMix64, coef: inout [Double]) -> [Double] {
        for _ in 0..<8 {
            var x = (0..<len).map { _ in rng.nextSigned() }
            reorthogonalize(&x, against: basis, count: count, coef: &coef)
            let nrm = x.withUnsafeBufferPointer { LAPACKCalls.nrm2(len, $0.baseAddress!) }
            if nrm > 1e-8 { return x.map { $0 / nrm } }
        }
        return [Double](repeating: 0, count: len)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, platform-independent.
public struct SplitMix64: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [−1, 1).
    public mutating func nextSigned() -> Double {
        Double(next() >> 11) * 0x1.0p-52 - 1
    }
}
