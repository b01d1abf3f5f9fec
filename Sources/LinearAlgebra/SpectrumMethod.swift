/// How a set of singular values was obtained. Recorded next to every figure (DESIGN.md).
public enum SpectrumMethod: String, Codable, Sendable, CaseIterable {
    /// Float64 Gram matrix of the smaller side (`dsyrk`) and its eigenvalues (`dsyevd`, values
    /// only): `σ = sqrt(max(λ, 0))`. Falls back to `gramQRInverse` (large orders) or `gesdd`
    /// when the Gram cannot resolve the small singular values (see `SVD.gramAccuracyTarget`).
    case gramSyevd = "gram_syevd"
    /// The Gram path whose smallest values (those below its accuracy guard) were recomputed from
    /// the inverse of a Householder triangular factor and certified to `SVD.gramAccuracyTarget`
    /// (`SVD.refinedSmallValues`; orders ≥ `SVD.refinementMinimumOrder` only).
    case gramQRInverse = "gram_qr_inverse"
    /// LAPACK `dgesdd`, values only (`jobz = 'N'`): backward stable, `|δσ_i| ≤ c·ε·σ_1`.
    case gesdd
    /// Golub–Kahan–Lanczos bidiagonalisation with full reorthogonalisation (top-k).
    case lanczosTopK = "lanczos_top_k"
    /// Power iteration on `AᵀA` (kept for callers; `SVD.spectralNorm` uses Lanczos with k = 1,
    /// which needs far fewer products for the same residual).
    case powerIteration = "power_iteration"
    /// Exact spectrum of a circular convolution through the DFT (Sedghi, Gupta, Long 2019).
    case fftExact = "fft_exact"
    /// A certified upper bound, not a singular value.
    case upperBound = "upper_bound"
}

/// Singular values with the way they were computed.
public struct SingularValueResult: Sendable, Equatable {
    /// Descending, non-negative.
    public var values: [Double]
    public var method: SpectrumMethod
    /// True when `values` holds all `min(m, n)` singular values.
    public var isComplete: Bool
    /// Relative accuracy claimed, when approximate: every returned value is estimated to lie
    /// within `tolerance · values[0]` of the corresponding singular value (Krylov: quadratic
    /// Ritz bound, see `Lanczos`; nil: accurate to rounding).
    public var tolerance: Double?
    /// For Krylov methods, the largest residual norm `‖Aᵀu − θv‖` of the returned Ritz triplets
    /// (absolute, same units as σ): each returned θ has a singular value within this distance.
    public var certificate: Double?
    /// Matrix–vector product pairs used (Krylov methods).
    public var iterations: Int?

    public init(values: [Double], method: SpectrumMethod, isComplete: Bool,
                tolerance: Double? = nil, certificate: Double? = nil, iterations: Int? = nil) {
        self.values = values
        self.method = method
        self.isComplete = isComplete
        self.tolerance = tolerance
        self.certificate = certificate
        self.iterations = iterations
    }
}
