import LinearAlgebra

/// Parameter gradients written into a reusable parameter tangent. A Gram product
/// `J_θ (J_θᵀ u)` — the transformer data mode's ‖J_θ‖ Lanczos and its NTK — used to allocate a
/// fresh P-sized gradient and then a split copy of it for the JVP on every product; for a 12 M
/// parameter model those are two 94 MB buffers the kernel maps and zeroes each time (≈ 10 % of
/// the data mode's time went to those page faults). Here the gradient is accumulated straight into
/// the per-op blocks the JVP reads, and one tangent is reused across the products.
extension ForwardModel {
    /// A zero parameter tangent with one block per op that has parameters (for
    /// `parameterGradient(_:seed:into:)`).
    public func zeroTangent() -> ParameterTangent {
        ParameterTangent(blocks: ops.map { $0.paramCount == 0 ? nil : [Double](repeating: 0, count: $0.paramCount) })
    }

    /// `t ← J_θᵀ seed` summed over the tape's samples (seed `count × outputCount`, one row per
    /// sample): the same reverse pass as `backward(_:seed:request:)` with `parameterGradient` and
    /// no input cotangent, in the same order, each op's gradient accumulated onto a zeroed block
    /// instead of onto the zeroed flat vector at its offset — so the same values bit for bit.
    public func parameterGradient(_ tape: ForwardTape, seed: [Double], into t: inout ParameterTangent) {
        let n = tape.count
        precondition(seed.count == n * outputCount, "parameterGradient: \(seed.count) seed values for \(n) × \(outputCount)")
        precondition(t.blocks.count == ops.count, "parameterGradient: a tangent of another model")
        for j in t.blocks.indices where t.blocks[j] != nil {
            t.blocks[j]!.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        var cot = [[Double]](repeating: [], count: ops.count)
        cot[ops.count - 1] = seed
        for j in stride(from: ops.count - 1, through: 1, by: -1) {
            let gy = cot[j]
            if gy.isEmpty { continue }
            cot[j] = []
            let c = ops[j], op = c.op, ctx = context(j, tape)
            var gx = takeCotangents(j, &cot, rows: n) { $0 != 0 }
            op.vjp(gy, rows: n, rowsPerSample: 1, ctx: ctx, into: &gx)
            giveCotangents(j, gx, &cot)
            guard c.paramCount > 0 else { continue }
            t.blocks[j]!.withUnsafeMutableBufferPointer { op.accumulateParameterGradient(gy, ctx: ctx, into: $0.baseAddress!) }
        }
    }

    /// `t ← t + other`, block by block (element by element, as `addInPlace` on the flat vectors).
    public func add(_ other: ParameterTangent, into t: inout ParameterTangent) {
        precondition(other.blocks.count == t.blocks.count)
        for j in t.blocks.indices where t.blocks[j] != nil {
            other.blocks[j]!.withUnsafeBufferPointer { o in
                t.blocks[j]!.withUnsafeMutableBufferPointer { d in for i in 0..<d.count { d[i] += o[i] } }
            }
        }
    }
}
