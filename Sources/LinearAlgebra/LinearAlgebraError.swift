/// Errors of the LinearAlgebra target. LAPACK's `info` codes are never swallowed: a non-zero
/// `info` becomes `.lapack`, with the routine's name.
public enum LinearAlgebraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input holds NaN or ±Inf; nothing was passed to LAPACK.
    case nonFinite
    /// A LAPACK routine returned `info != 0` (negative: bad argument; positive: no convergence).
    case lapack(routine: String, info: Int)
    /// Shapes that do not fit together (message says which).
    case dimensionMismatch(String)
    /// An argument outside its domain (e.g. `k < 1`).
    case invalidArgument(String)
    /// An iterative method stopped at its iteration limit above the requested tolerance.
    case notConverged(iterations: Int, achievedRelativeResidual: Double)

    public var description: String {
        switch self {
        case .nonFinite: return "matrix has non-finite entries (NaN or Inf)"
        case .lapack(let r, let info): return "LAPACK \(r) failed with info = \(info)"
        case .dimensionMismatch(let m): return "dimension mismatch: \(m)"
        case .invalidArgument(let m): return "invalid argument: \(m)"
        case .notConverged(let it, let r):
            return "no convergence after \(it) iterations (relative residual \(r))"
        }
    }
}
