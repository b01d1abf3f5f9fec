import LinearAlgebra

/// Dense weights → the canonical operator `A ∈ R^{out×in}` with `y = A x` (SPEC.md §1).
public enum DenseOperator {
    /// - `.outIn` (PyTorch `nn.Linear.weight [out, in]`): `A = weight`.
    /// - `.inOut` (Keras `Dense.kernel [in, out]`, GPT-2 `Conv1D [in, out]`): `A = kernelᵀ`.
    /// Other orientations throw `.unsupportedOrientation`; non-2-D shapes `.unsupportedShape`.
    public static func matrix(data: [Double], shape: [Int], orientation: Orientation) throws -> Matrix {
        guard orientation == .outIn || orientation == .inOut else {
            throw OperatorError.unsupportedOrientation(orientation)
        }
        guard shape.count == 2, shape.allSatisfy({ $0 >= 0 }) else {
            throw OperatorError.unsupportedShape(shape: shape, orientation: orientation)
        }
        let count = shape[0] * shape[1]
        guard data.count == count else { throw OperatorError.elementCountMismatch(expected: count, actual: data.count) }
        let stored = Matrix(rows: shape[0], cols: shape[1], storage: data)
        return orientation == .outIn ? stored : stored.transposed()
    }

    /// The rule applied, as recorded per layer (SPEC §1: "the orientation rule used is recorded").
    public static func orientationRule(_ orientation: Orientation) -> String {
        switch orientation {
        case .outIn: return "A = weight ([out, in])"
        case .inOut: return "A = kernel^T ([in, out])"
        default: return "unsupported (\(orientation.rawValue))"
        }
    }
}
