/// Layers that are the identity at inference (dropout and its variants, noise layers, identity):
/// compiled to nothing, their output is their input. Other shape-only layers (reshape, permute,
/// zero padding, cropping) need their own op and are reported unsupported until they have one.
public enum PassThroughOp: OpBuilder {
    static let identities: Set<String> = [
        "dropout", "identity", "spatialdropout1d", "spatialdropout2d", "spatialdropout3d", "gaussiannoise",
        "gaussiandropout", "alphadropout", "activityregularization",
    ]

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .passThrough(let what) = node.kind, what != "flatten" else { return nil }
        guard identities.contains(what) else { throw ForwardModelError.unsupported(node, what) }
        return b.inputSlots[0]
    }
}

/// The network input (slot 0 of every compiled model; never built from a node).
public struct InputOp: ParameterFreeOp {
    public let name: String
    public let outputShape: [Int]
    public var lipschitz: LipschitzRule { .constant(1, derivation: "identity") }
    public var report: OpReport { OpReport(kind: "input") }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) { (ctx.inputs[0], .none) }
    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {}
    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? { dx.first ?? nil }
    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {}
}

extension PassThroughOp: NodeLipschitzSource {
    /// Shape-only layers (reshape, dropout, permute, identity): 1.
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .passThrough(let what) = node.kind, what != "flatten" else { return nil }
        return NodeLipschitz(.constant(1, derivation: "identity up to a reordering"), chainKind: "shape")
    }
}
