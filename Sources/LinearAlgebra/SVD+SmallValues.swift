// Completing a Gram spectrum whose smallest values the Gram cannot resolve, without `dgesdd`.
import Foundation

extension SVD {
    /// From this order p = min(m, n) on, a Gram spectrum that fails the accuracy guard is first
    /// completed by `refinedSmallValues` (reported as `.gramQRInverse`) and only then, if that
    /// cannot certify every value, recomputed by `dgesdd`. Below it (every golden and fixture
    /// model) the fallback is `dgesdd` directly, as before. Measured (one thread, bench/RESULTS.md
    /// "large layers"): a 4096×4096 Llama-7B-shaped q_proj costs 8.6 CPU-s in all instead of
    /// 27.5 with `dgesdd` (which alone takes ≈ 24 s at p = 4096).
    public static let refinementMinimumOrder = 1024

    /// Singular values (descending) of the row-major `rows × cols` matrix A whose prescaled Gram
    /// (`scale · A`, `scale` an exact power of two) has the eigenvalues `lambda` (ascending) that
    /// failed the accuracy guard, or nil when the values below the guard cannot be certified
    /// (the caller then runs `dgesdd`).
    ///
    /// The k Gram eigenvalues below the guard threshold `τ = λ_max·p·ε/(2·gramAccuracyTarget)`
    /// are replaced by the k smallest singular values computed from the inverse of a triangular
    /// factor: T from Householder QR/LQ of A (`σ(T) = σ(A + E)`, `‖E‖ ≤ c·p·ε·‖A‖`), X = T⁻¹
    /// (`dtrtri`), the k largest eigenvalues μ of `X Xᵀ` — by block subspace iteration with a
    /// residual certificate r (`largestInverseGramEigenvalues`), or, when that does not certify
    /// them, densely (`dlauum`, then `dsyevd(_2stage)`, r = 0) — and `σ_j = 1/sqrt(μ_j)`. The large μ are what a Gram resolves well, so the
    /// small σ come out accurate. Error statement (pessimistic, constants omitted, as the Gram
    /// guard): the QR step perturbs σ_j by `p·ε·σ_1` absolute, the triangular inverse X by
    /// `p·ε·κ·‖X‖` normwise (Higham, *Accuracy and Stability*, 2nd ed., §14.2; κ = σ_1/σ_min),
    /// and the eigenvalues of `X Xᵀ` carry `p·ε·μ_max` absolute, so the relative error of σ_j is
    /// at most about `e_j = p·ε·(κ·σ_j/σ_min + (σ_j/σ_min)²/2) + r/(2μ_j)`. Each of the k values is
    /// accepted only when `e_j ≤ gramAccuracyTarget` (1e-4) and it agrees with its Gram eigenvalue
    /// within the Gram's own absolute error (`|σ_j² − λ_j| ≤ 4·p·ε·λ_max`, a cross-check of the
    /// pairing); otherwise nil. Values at or above τ are the Gram's, with the Gram path's
    /// accuracy (`|δσ_i| ≲ p·ε·σ_1²/(2σ_i)`), so `rank` and `sigma_min` are decided on values
    /// accurate to 1e-4 relative, as on the `dgesdd` path. Against `dgesdd` (`|δσ_i| ≤ c·p·ε·σ_1`)
    /// the values differ by less than these bounds: normwise quantities by rounding, σ_min by
    /// about `p·ε·κ` relative (measured: 1e-13 on 1024² and 4096² spiked Gaussians, κ ≈ 3e4).
    /// Exactly singular or numerically rank-deficient matrices fail the certificate (κ·p·ε too
    /// large, or `dtrtri` reports a zero pivot) and go to `dgesdd`.
    static func refinedSmallValues(_ a: UnsafeBufferPointer<Double>, rows: Int, cols: Int,
                                   gramEigenvalues lambda: [Double], scale: Double) throws -> [Double]? {
        let p = Swift.min(rows, cols)
        guard p >= refinementMinimumOrder, lambda.count == p, a.count >= rows * cols,
              let lmax = lambda.last, lmax > 0, lmax.isFinite else { return nil }
        let pe = Double(p) * Double.ulpOfOne
        let threshold = lmax * pe / (2 * gramAccuracyTarget)
        let k = lambda.firstIndex(where: { $0 >= threshold }) ?? p
        guard k > 0, k < p else { return nil }
        var (t, upper) = try LAPACKCalls.triangularFactor(a, rows: rows, cols: cols, scale: scale)
        // σ_max(X) = 1/σ_min ≥ ‖X‖_F/√p, so κ ≥ sqrt(λ_max)·‖X‖_F/√p: when that already breaks the
        // certificate of σ_min (p·ε·κ ≤ target), skip the product and eigen-solve (nil → dgesdd).
        let maxFrobenius = gramAccuracyTarget / pe * Double(p).squareRoot() / lmax.squareRoot()
        guard try LAPACKCalls.invertTriangular(&t, n: p, upper: upper, maxInverseFrobenius: maxFrobenius) else { return nil }
        // The k largest μ (descending): by subspace iteration when it certifies them, else dense.
        // Every eigenvalue of M beyond the k largest is 1/σ_i² for an index i ≥ k, and the Gram
        // (Weyl, absolute error ≤ 4·p·ε·λ_max) puts those σ_i² at or above λ_k − 4·p·ε·λ_max; so
        // when the k Ritz values minus the residual all exceed `ceiling`, the k eigenvalues within
        // the residual of them (Kahan) are exactly the k largest.
        var top: [Double]
        var residual = 0.0
        let ceiling = 1 / (lambda[k] - 4 * pe * lmax)
        // The iteration costs 2·p²·(k + 8) flops per step: for many values below the guard the dense
        // product and eigen-solve (≈ 5·p³/3) are cheaper, so it is tried only for k ≤ p/64.
        if k <= p / 64, let found = try largestInverseGramEigenvalues(inverse: t, n: p, upper: upper, count: k),
           found.values[k - 1] - found.residual > ceiling {
            top = found.values
            residual = found.residual
        } else {
            guard try LAPACKCalls.inverseProduct(&t, n: p, upper: upper) else { return nil }
            let mu = try LAPACKCalls.symmetricEigenvalues(&t, n: p, upper: upper)  // ascending, 1/σ²
            top = Array(mu[(p - k)...].reversed())
        }
        t = []
        // The k smallest σ (ascending) from the k largest μ.
        var small = [Double](repeating: 0, count: k)
        for j in 0..<k {
            let m = top[j]
            guard m > 0, m.isFinite else { return nil }
            small[j] = 1 / m.squareRoot()
        }
        let sigmaMin = small[0]
        guard sigmaMin > 0, sigmaMin.isFinite else { return nil }
        let kappa = lmax.squareRoot() / sigmaMin
        for j in 0..<k {
            let ratio = small[j] / sigmaMin
            // Rounding of the inverse and of M, plus the iteration's residual (relative r/(2μ_j) on σ_j).
            let bound = pe * (kappa * ratio + ratio * ratio / 2) + residual / (2 * top[j])
            guard bound <= gramAccuracyTarget else { return nil }
            guard abs(small[j] * small[j] - lambda[j]) <= 4 * pe * lmax else { return nil }
        }
        let inv = 1 / scale
        var values = small.map { $0 * inv }
        values.reserveCapacity(p)
        for i in k..<p { values.append(Swift.max(lambda[i], 0).squareRoot() * inv) }
        return values.sorted(by: >)
    }
}
