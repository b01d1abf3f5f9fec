/// PReLU with learned slopes: `y = x` for `x > 0`, `α x` otherwise (`x ≤ 0` branch at the kink).
/// θ block: `alpha` (broadcast against the sample as Keras does, or one per channel / one shared).
/// Lipschitz: `max(1, max|α|)`.
public struct PReLUOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    /// For each element of a sample, the index of its α.
    let alphaIndex: [Int]
    let alphaCount: Int
    let maxAbsAlpha: Double

    public var parameterLayout: [ParameterBlock] { [ParameterBlock("alpha", alphaCount)] }
    public var lipschitz: LipschitzRule { .constant(Swift.max(1, maxAbsAlpha), derivation: "max(1, max|α|)") }
    public var report: OpReport { OpReport(kind: "prelu") }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .prelu(let ref) = node.kind else { return nil }
        let alpha = try b.load(ref)
        let s = b.inputShape()
        let map = try alphaMap(alphaShape: ref.shape, count: alpha.count, shape: s, layer: node.name)
        let op = PReLUOp(name: node.name, outputShape: s, alphaIndex: map, alphaCount: alpha.count,
                         maxAbsAlpha: alpha.map { Swift.abs($0) }.max() ?? 0)
        return try b.emit(op, inputs: [b.inputSlots[0]], parameters: [alpha])
    }

    /// For each element of a channels-last tensor of `shape`, the index of its α.
    static func alphaMap(alphaShape: [Int], count: Int, shape: [Int], layer: String) throws -> [Int] {
        let n = shape.reduce(1, *)
        if count == 1 { return [Int](repeating: 0, count: n) }
        guard let c = shape.last else { throw ForwardModelError("layer '\(layer)': PReLU of a scalar") }
        if alphaShape.count == shape.count {
            // Keras: α broadcast against the per-sample shape (shared axes have extent 1).
            for (a, s) in zip(alphaShape, shape) where a != 1 && a != s {
                throw ForwardModelError("layer '\(layer)': PReLU α of shape \(alphaShape) does not broadcast to \(shape)")
            }
            var strides = [Int](repeating: 1, count: shape.count)
            for i in stride(from: shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * alphaShape[i + 1] }
            var map = [Int](repeating: 0, count: n)
            var idx = [Int](repeating: 0, count: shape.count)
            for e in 0..<n {
                var a = 0
                for d in 0..<shape.count where alphaShape[d] != 1 { a += idx[d] * strides[d] }
                map[e] = a
                var d = shape.count - 1
                while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
            }
            return map
        }
        if count == c { return (0..<n).map { $0 % c } }
        throw ForwardModelError("layer '\(layer)': PReLU α with \(count) entries does not fit a tensor of shape \(shape)")
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = ctx.inputs[0]
        let size = ctx.outputSize
        for e in 0..<y.count where y[e] <= 0 { y[e] *= ctx.theta[alphaIndex[e % size]] }
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let size = ctx.inputSizes[0], x = ctx.inputs[0]
        gx[0].withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows {
                let s = r / k
                for e in 0..<size {
                    let slope = x[s * size + e] > 0 ? 1 : ctx.theta[alphaIndex[e]]
                    xp[r * size + e] += slope * gy[r * size + e]
                }
            }
        }
    }

    public func jvp(_ dx: [[Double]?], dtheta dt: [Double]?, ctx: OpContext) -> [Double]? {
        if dx[0] == nil && dt == nil { return nil }
        let x = ctx.inputs[0], size = ctx.outputSize
        var y = dx[0] ?? [Double](repeating: 0, count: x.count)
        for e in 0..<y.count {
            let xv = x[e]
            if xv <= 0 {
                let ai = alphaIndex[e % size]
                y[e] = ctx.theta[ai] * y[e] + (dt.map { $0[ai] * xv } ?? 0)
            }
        }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let size = ctx.outputSize
        ctx.inputs[0].withUnsafeBufferPointer { xp in
            let x = xp.baseAddress! + s * size
            for q in 0..<k {
                let g = gy + q * size, row = out + q * alphaCount
                for e in 0..<size where x[e] <= 0 { row[alphaIndex[e]] += x[e] * g[e] }
            }
        }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let x = ctx.inputs[0], size = ctx.outputSize, gy = input.gy, rgy = input.rgy
        for e in 0..<gy.count {
            let xv = x[e]
            if xv > 0 {
                if !gx[0].isEmpty { gx[0][e] += gy[e] }
                if !rgx[0].isEmpty { rgx[0][e] += rgy[e] }
            } else {
                let ai = alphaIndex[e % size]
                if !gx[0].isEmpty { gx[0][e] += ctx.theta[ai] * gy[e] }
                if !rgx[0].isEmpty { rgx[0][e] += ctx.theta[ai] * rgy[e] + (input.dtheta?[ai] ?? 0) * gy[e] }
                hv[ai] += (input.dx[0]?[e] ?? 0) * gy[e] + xv * rgy[e]
            }
        }
    }
}

extension PReLUOp: NodeLipschitzSource {
    /// `max(1, max|α|)` from the measured slopes.
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .prelu = node.kind else { return nil }
        guard let m = norms.parameterMaxAbs else {
            let why = "PReLU '\(node.name)' was not analysed"
            return NodeLipschitz(.unbounded(reason: why), chainKind: "activation", listedWhenOne: true, unmeasured: why)
        }
        return NodeLipschitz(.constant(Swift.max(1, m), derivation: "max(1, max|α|)"), chainKind: "activation", listedWhenOne: true)
    }
}
