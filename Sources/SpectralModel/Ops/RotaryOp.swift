import Foundation

/// Rotary position embedding (Su et al. 2021) in the `rotate_half` convention of Hugging Face's
/// Llama (`q·cos + rotate_half(q)·sin`): on a sequence `[n, heads·d_h]`, at position p, for every
/// head and `i < d_h/2`, with `ω_i = θ^(−2i/d_h)` and angle `a = p·ω_i`:
/// `y_i = x_i cos a − x_{i+d_h/2} sin a`, `y_{i+d_h/2} = x_{i+d_h/2} cos a + x_i sin a`.
/// Positions are `0 … n−1`; angles in float64. A rotation per (position, head, pair): linear,
/// parameter-free, orthogonal — VJP is the inverse rotation, Lipschitz constant 1.
/// Attributes: `heads`, `head_dim` (even), `theta` (`rope_theta`).
public struct RotaryOp: LinearStructuralOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    public let heads: Int
    public let headDim: Int
    public let theta: Double
    /// cos and sin per (position, i), `n × d_h/2` each.
    let cosTable: [Double]
    let sinTable: [Double]

    public var lipschitz: LipschitzRule { .constant(1, derivation: "a rotation of each pair of coordinates (orthogonal)") }
    public var report: OpReport { OpReport(kind: "rotary", detail: "\(heads) heads × \(headDim), θ = \(theta)") }

    public init(name: String, sequenceLength n: Int, heads: Int, headDim: Int, theta: Double) {
        self.name = name
        self.heads = heads
        self.headDim = headDim
        self.theta = theta
        outputShape = [n, heads * headDim]
        let half = headDim / 2
        var c = [Double](repeating: 0, count: n * half), s = c
        for p in 0..<n {
            for i in 0..<half {
                let a = Double(p) * Foundation.pow(theta, -Double(2 * i) / Double(headDim))
                c[p * half + i] = Foundation.cos(a)
                s[p * half + i] = Foundation.sin(a)
            }
        }
        cosTable = c
        sinTable = s
    }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized("Rotary", _) = node.kind else { return nil }
        let s = b.inputShape()
        guard let h = node.attributes["heads"].flatMap(Int.init), let dh = node.attributes["head_dim"].flatMap(Int.init),
              let theta = node.attributes["theta"].flatMap(Double.init), theta > 0, dh % 2 == 0,
              s.count == 2, s[1] == h * dh else {
            throw ForwardModelError("layer '\(node.name)': rotary embedding needs heads, an even head_dim and theta matching its input \(s)")
        }
        return try b.emit(RotaryOp(name: node.name, sequenceLength: s[0], heads: h, headDim: dh, theta: theta),
                          inputs: [b.inputSlots[0]])
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        (apply(ctx.inputs, rows: ctx.n, rowsPerSample: 1, ctx: ctx), .none)
    }

    /// Rotates (`sign` +1) or rotates back (−1, the transpose) every row of `v`.
    func rotate(_ v: [Double], rows: Int, sign: Double) -> [Double] {
        let n = outputShape[0], w = outputShape[1], half = headDim / 2
        var y = [Double](repeating: 0, count: v.count)
        for r in 0..<rows {
            for p in 0..<n {
                let base = r * n * w + p * w
                for h in 0..<heads {
                    let hb = base + h * headDim
                    for i in 0..<half {
                        let c = cosTable[p * half + i], s = sign * sinTable[p * half + i]
                        let x1 = v[hb + i], x2 = v[hb + i + half]
                        y[hb + i] = x1 * c - x2 * s
                        y[hb + i + half] = x2 * c + x1 * s
                    }
                }
            }
        }
        return y
    }

    public func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double] {
        rotate(v[0], rows: rows, sign: 1)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let back = rotate(gy, rows: rows, sign: -1)
        gx[0].withUnsafeMutableBufferPointer { gp in for e in 0..<back.count { gp[e] += back[e] } }
    }
}

extension RotaryOp: NodeLipschitzSource {
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .parameterized("Rotary", _) = node.kind else { return nil }
        return NodeLipschitz(.constant(1, derivation: "a rotation of each pair of coordinates (orthogonal)"), chainKind: "shape")
    }
}
