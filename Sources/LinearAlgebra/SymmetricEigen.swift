/// Eigenvalues and eigenvectors of a small dense symmetric matrix (LAPACK `dsyevd`, `jobz = 'V'`):
/// backward stable, each computed eigenvalue within `c·n·ε·‖A‖₂` of the exact one (Anderson et
/// al., *LAPACK Users' Guide*, §4.7).
public enum SymmetricEigen {
    /// Eigenvalues ascending and the eigenvectors as rows (`vectors[k·n ..< (k+1)·n]` belongs to
    /// `values[k]`, unit length) of the symmetric `n × n` matrix `a` (one triangle is read:
    /// symmetrise first when rounding made it asymmetric).
    public static func decompose(_ a: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
        guard n >= 1, a.count == n * n else { throw LinearAlgebraError.dimensionMismatch("SymmetricEigen: \(a.count) values for \(n) × \(n)") }
        guard a.allSatisfy(\.isFinite) else { throw LinearAlgebraError.nonFinite }
        var m = a  // row-major a is column-major aᵀ = a
        let w = try LAPACKCalls.symmetricEigenvectors(&m, n: n)
        return (w, m)  // column k of the column-major result is row k here
    }
}
