/// Eigen-decomposition of the symmetric tridiagonal matrices Lanczos methods produce
/// (LAPACK `dstev`: implicit QL/QR, backward stable, eigenvalues accurate to `c·ε·‖T‖`).
public enum SymmetricTridiagonal {
    public struct Eigen: Sendable {
        /// Eigenvalues, ascending.
        public var values: [Double]
        /// First component of each normalised eigenvector (Gauss quadrature weights are their
        /// squares: stochastic Lanczos quadrature).
        public var firstComponents: [Double]
        /// Last component of each normalised eigenvector (Ritz residuals are `β·|s_last|`).
        public var lastComponents: [Double]
    }

    /// `diagonal` has k entries, `offDiagonal` k − 1 (extra entries are ignored).
    public static func eigen(diagonal: [Double], offDiagonal: [Double]) throws -> Eigen {
        let k = diagonal.count
        guard k > 0 else { return Eigen(values: [], firstComponents: [], lastComponents: []) }
        guard offDiagonal.count >= k - 1 else {
            throw LinearAlgebraError.invalidArgument("tridiagonal: \(offDiagonal.count) off-diagonal entries for order \(k)")
        }
        guard diagonal.allSatisfy(\.isFinite), offDiagonal.prefix(k - 1).allSatisfy(\.isFinite) else {
            throw LinearAlgebraError.nonFinite
        }
        let (values, z) = try LAPACKCalls.tridiagonalEigen(diagonal: diagonal, offDiagonal: offDiagonal)
        // Column-major: eigenvector j is z[j·k ..< (j+1)·k].
        return Eigen(values: values, firstComponents: (0..<k).map { z[$0 * k] },
                     lastComponents: (0..<k).map { z[$0 * k + k - 1] })
    }
}
