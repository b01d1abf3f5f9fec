import LinearAlgebra

/// The loss-Hessian Lanczos of both data modes (`HessianPhase`, `TransformerLoss`): the stored,
/// fully reorthogonalised basis (`Lanczos.symmetricExtremes`) when `lanczosMaxIterations` vectors
/// of P fit in `lanczosBasisBytes`, else the two-pass Lanczos (`Lanczos.symmetricExtremesTwoPass`:
/// five vectors of P, 2k + 1 products, Rayleigh quotients with true residuals), which reaches
/// convergence at any P instead of stopping after `bytes / 8P` steps. A basis of at least
/// `minimumStoredSteps` that fits is tried first (most runs converge within a few dozen steps).
enum HessianLanczos {
    struct Outcome {
        var extremes: Lanczos.SymmetricResult
        var twoPass: Bool
        /// Hessian–vector products spent.
        var products: Int
        var maxIterations: Int

        /// "symmetric Lanczos, 37 products" / "two-pass Lanczos (…), 23 steps, 47 products", for notes.
        var method: String {
            twoPass
                ? "two-pass symmetric Lanczos (basis not stored: pass 1 keeps α, β; pass 2 regenerates the vectors for the Ritz vectors, whose true residuals ‖Hy − ρy‖ give the error estimates), \(extremes.iterations) steps, \(products) products"
                : "symmetric Lanczos, \(products) products"
        }

        var notConverged: String {
            twoPass ? "NOT converged within \(maxIterations) steps" : "NOT converged within \(maxIterations) products (basis memory cap)"
        }
    }

    static func extremes(parameters P: Int, options: DataAuditOptions, tolerance: Double, seed: UInt64,
                         apply: ([Double]) throws -> [Double]) throws -> Outcome {
        let fit = options.lanczosBasisBytes / Swift.max(1, 8 * P)
        var spent = 0
        if fit >= Swift.min(options.lanczosMaxIterations, P) || fit >= minimumStoredSteps {
            let it = Swift.max(2, Swift.min(options.lanczosMaxIterations, fit))
            let r = try Lanczos.symmetricExtremes(dimension: P, tolerance: tolerance, maxIterations: it, seed: seed, apply: apply)
            if r.converged || it >= Swift.min(options.lanczosMaxIterations, P) {
                return Outcome(extremes: r, twoPass: false, products: r.iterations, maxIterations: it)
            }
            spent = r.iterations
        }
        let it = Swift.max(2, options.lanczosMaxIterations)
        let r = try Lanczos.symmetricExtremesTwoPass(dimension: P, tolerance: tolerance, maxIterations: it, seed: seed, apply: apply)
        return Outcome(extremes: r.extremes, twoPass: true, products: spent + r.products, maxIterations: it)
    }

    /// A basis of fewer steps than this is not tried first: the two-pass run starts at once.
    /// (Between this and `lanczosMaxIterations` steps, the stored basis runs first and the
    /// two-pass Lanczos only when it hits the cap, its products added to the count.)
    static let minimumStoredSteps = 16
}
