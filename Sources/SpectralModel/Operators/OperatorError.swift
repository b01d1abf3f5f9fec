
/// Why a tensor could not be turned into an operator.
public enum OperatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `data.count` differs from the product of `shape`.
    case elementCountMismatch(expected: Int, actual: Int)
    /// The shape does not fit the orientation (e.g. a 3-D tensor declared dense).
    case unsupportedShape(shape: [Int], orientation: Orientation)
    /// The orientation is not one this operator kind accepts (e.g. `.unknown`).
    case unsupportedOrientation(Orientation)
    /// `groups` does not divide the channels, or contradicts a depthwise layout.
    case invalidGroups(groups: Int, inChannels: Int, outChannels: Int)
    /// The circular spectrum needs an input at least as large as the kernel in every dimension.
    case inputSmallerThanKernel(inputSize: [Int], kernelSize: [Int])
    /// Parameter vectors of different lengths (BatchNorm) or a length that misses the operator.
    case lengthMismatch(String)
    /// `variance + epsilon ≤ 0` (or non-finite) for some channel.
    case invalidVariance(channel: Int)

    public var description: String {
        switch self {
        case .elementCountMismatch(let e, let a): return "tensor has \(a) elements, shape needs \(e)"
        case .unsupportedShape(let s, let o): return "shape \(s) does not fit orientation \(o.rawValue)"
        case .unsupportedOrientation(let o): return "orientation \(o.rawValue) is not supported here"
        case .invalidGroups(let g, let i, let o): return "groups = \(g) does not fit \(i) input / \(o) output channels"
        case .inputSmallerThanKernel(let n, let k): return "input size \(n) smaller than kernel \(k)"
        case .lengthMismatch(let m): return "length mismatch: \(m)"
        case .invalidVariance(let c): return "variance + epsilon is not positive for channel \(c)"
        }
    }
}
