import LinearAlgebra

/// The one memory decision of every large symmetric Lanczos in the data modes — the loss Hessian
/// (`HessianPhase`, `TransformerLoss`: dimension P), the NTK (`NTKPhase.extremes`: N·C, for an LM
/// head N·n·V) and the per-probe Gram `J_θ J_θᵀ` of the transformer data mode (n·V for an LM head):
/// the stored, fully reorthogonalised basis (`Lanczos.symmetricExtremes`) when `maxIterations`
/// vectors of the dimension fit in `bytes` (`lanczosBasisBytes`), else the two-pass Lanczos
/// (`Lanczos.symmetricExtremesTwoPass`: five vectors of the dimension, 2k + 1 products, Rayleigh
/// quotients with true residuals), which reaches convergence at any dimension instead of stopping
/// after `bytes / 8·dimension` steps. A basis of at least `minimumStoredSteps` that fits is tried
/// first (most runs converge within a few dozen steps). `needMin`, `minBudget` and `minBracket`
/// mean the same on both paths (see `Lanczos.symmetricExtremes`).
enum BudgetedLanczos {
    struct Outcome {
        var extremes: Lanczos.SymmetricResult
        var twoPass: Bool
        /// Operator products spent (on both paths when the stored basis ran first).
        var products: Int
        var maxIterations: Int

        /// "symmetric Lanczos, 37 products" / "two-pass Lanczos (…), 23 steps, 47 products", for notes.
        var method: String {
            twoPass
                ? "two-pass symmetric Lanczos (basis not stored: pass 1 keeps α, β; pass 2 regenerates the vectors for the Ritz vectors, whose true residuals ‖Ay − ρy‖ give the error estimates), \(extremes.iterations) steps, \(products) products"
                : "symmetric Lanczos, \(products) products"
        }

        var notConverged: String {
            twoPass ? "NOT converged within \(maxIterations) steps" : "NOT converged within \(maxIterations) products (basis memory cap)"
        }
    }

    /// The loss Hessian's call: dimension P, `lanczosBasisBytes`, `lanczosMaxIterations`, both extremes.
    static func extremes(parameters P: Int, options: DataAuditOptions, tolerance: Double, seed: UInt64,
                         apply: ([Double]) throws -> [Double]) throws -> Outcome {
        try extremes(dimension: P, bytes: options.lanczosBasisBytes, maxIterations: options.lanczosMaxIterations,
                     tolerance: tolerance, seed: seed, apply: apply)
    }

    static func extremes(dimension P: Int, bytes: Int, maxIterations: Int, tolerance: Double, seed: UInt64,
                         needMin: Bool = true, minBudget: Int? = nil, minBracket: ClosedRange<Double>? = nil,
                         apply: ([Double]) throws -> [Double]) throws -> Outcome {
        let fit = bytes / Swift.max(1, 8 * P)
        let cap = Swift.min(maxIterations, P)
        // Without a bracket, λ_min of a large operator usually runs into the budget: a basis that
        // cannot hold the budget's steps would only be run, then run again two-pass.
        let least = needMin && minBracket == nil ? Swift.max(minimumStoredSteps, minBudget ?? 0) : minimumStoredSteps
        var spent = 0
        if fit >= cap || fit >= least {
            let it = Swift.max(2, Swift.min(maxIterations, fit))
            let r = try Lanczos.symmetricExtremes(dimension: P, tolerance: tolerance, maxIterations: it, seed: seed, needMin: needMin,
                                                  minBudget: minBudget, minBracket: minBracket, apply: apply)
            let budgetStop = r.convergedMax && r.iterations >= (minBudget ?? Int.max)
            if r.converged || budgetStop || it >= cap {
                return Outcome(extremes: r, twoPass: false, products: r.iterations, maxIterations: it)
            }
            spent = r.iterations
        }
        let it = Swift.max(2, maxIterations)
        let r = try Lanczos.symmetricExtremesTwoPass(dimension: P, tolerance: tolerance, maxIterations: it, seed: seed, needMin: needMin,
                                                     minBudget: minBudget, minBracket: minBracket, apply: apply)
        return Outcome(extremes: r.extremes, twoPass: true, products: spent + r.products, maxIterations: it)
    }

    /// A basis of fewer steps than this is not tried first: the two-pass run starts at once.
    /// (Between this and `maxIterations` steps, the stored basis runs first and the
    /// two-pass Lanczos only when it hits the cap, its products added to the count.) When λ_min is
    /// needed with a `minBudget` and no `minBracket`, the basis must hold the budget's steps too.
    static let minimumStoredSteps = 16
}
