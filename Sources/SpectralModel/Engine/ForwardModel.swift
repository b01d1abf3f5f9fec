import LinearAlgebra

/// The network of a `NetworkGraph` compiled into a list of ops (`DifferentiableOp`, one file per
/// op, listed in `OpRegistry`) that run on batches in float64 (SPEC.md §5): forward pass, reverse
/// mode (vector–Jacobian products for inputs and parameters), forward mode (Jacobian–vector
/// products for input and parameter tangents) and the second-order reverse pass (Pearlmutter's
/// R-operator) that gives exact Hessian–vector products. The passes only iterate over the ops;
/// what each op computes is in its own file.
///
/// Conventions:
/// - Internally every tensor is channels-last (`[spatial…, C]`, one sample per row, flattened in
///   C order). Keras models (`source == "keras_config"`) are channels-last already; PyTorch
///   models (manifest, inferred) take `[C, H, W]` inputs: `toInternal` permutes such inputs, and a
///   `flatten` of a spatial tensor permutes back to channels-first order, so the dense layer after
///   it sees what PyTorch's `flatten` gives.
/// - Parameters θ (one flat vector, `parameters`): each op's blocks in op order — dense and conv
///   kernels (canonical `[out, in]` and `[out, in/groups, k…]` orders) and biases, BatchNorm γ and
///   β when the file has them (the moving statistics are buffers, not parameters), PReLU α.
/// - Softmax at the output is dropped (the audited function is the logits).
/// - Kinks take the `x ≤ 0` branch: `relu'(0) = 0`; max-pool routes the gradient to the first
///   maximal element of the window (row-major window order).
public final class ForwardModel: @unchecked Sendable {
    /// Input shape as the model expects it (Keras `[H, W, C]`, PyTorch `[C, H, W]`, or `[d]`).
    public let nativeInputShape: [Int]
    /// Internal (channels-last) input shape.
    public let inputShape: [Int]
    /// True for PyTorch-style models whose image inputs are channels-first.
    public let channelsFirst: Bool
    public let inputDimension: Int
    /// Number of logits C.
    public let outputCount: Int
    public let parameterCount: Int
    /// θ, read once from the file.
    public let parameters: [Double]
    /// Every parameter block: `(layer/variable, offset, count)`.
    public let parameterBlocks: [(name: String, offset: Int, count: Int)]
    /// What the compiler did that a report should mention.
    public let notes: [String]
    /// The compiled ops; slot 0 is the input.
    public let ops: [CompiledOp]
    /// θ split per op (`opTheta[j]` = op j's blocks).
    let opTheta: [[Double]]

    // MARK: compile

    /// Compiles `graph`, reading each tensor it names through `load` (float64 values in the
    /// tensor's stored order).
    public init(graph: NetworkGraph, inputShape override: [Int]? = nil, load: @escaping (TensorRef) throws -> [Double]) throws {
        channelsFirst = graph.source != "keras_config"
        guard graph.outputs.count == 1 else {
            throw ForwardModelError("data audit needs a network with one output; this one has \(graph.outputs.count)", kind: .unsupported)
        }
        // Nodes the output depends on.
        var needed = Set<Int>()
        var stack = [graph.outputs[0]]
        while let i = stack.popLast() {
            guard i >= 0, i < graph.nodes.count, !needed.contains(i) else { continue }
            needed.insert(i)
            stack.append(contentsOf: graph.nodes[i].inputs)
        }
        let inputNodes = needed.filter { graph.nodes[$0].kind == .input }
        guard inputNodes.count == 1, let inputNode = inputNodes.first else {
            throw ForwardModelError("data audit needs a network with one input; this one has \(inputNodes.count)", kind: .unsupported)
        }
        guard let native = override ?? graph.inputShape, !native.isEmpty, native.allSatisfy({ $0 > 0 }) else {
            throw ForwardModelError("data audit needs the input shape (the model file does not state it; pass an architecture manifest with input_shape)")
        }
        nativeInputShape = native
        let internalShape = (channelsFirst && native.count >= 2) ? Array(native.dropFirst()) + [native[0]] : native
        inputShape = internalShape
        inputDimension = native.reduce(1, *)

        let compiler = OpCompiler()
        _ = try compiler.append(InputOp(name: graph.nodes[inputNode].name, outputShape: internalShape), inputs: [], parameters: [])
        var slotOf: [Int: Int] = [inputNode: 0]
        for (ni, node) in graph.nodes.enumerated() where needed.contains(ni) && node.kind != .input {
            let ins = try node.inputs.map { i -> Int in
                guard let s = slotOf[i] else { throw ForwardModelError("layer '\(node.name)': input \(i) is not computed before it") }
                return s
            }
            guard !ins.isEmpty else { throw ForwardModelError("layer '\(node.name)' has no input") }
            let isOutput = graph.outputs[0] == ni
            let context = OpBuildContext(inputSlots: ins, channelsFirst: channelsFirst, isNetworkOutput: isOutput, loader: load,
                                         compiler: compiler)
            var built: Int? = nil
            for builder in OpRegistry.builders {
                if let s = try builder.build(node, context) { built = s; break }
            }
            guard var slot = built else { throw ForwardModelError.unsupported(node, OpRegistry.unsupportedReason(node)) }
            if let a = node.activation, a != .linear, node.kind.isActivationCarrier {
                if a == .softmaxOutput {
                    guard isOutput else { throw ForwardModelError.unsupported(node, "softmax inside the network") }
                    compiler.notes.append("layer '\(node.name)': softmax at the output dropped (the audited function is the logits)")
                } else {
                    let after = OpBuildContext(inputSlots: [slot], channelsFirst: channelsFirst, isNetworkOutput: isOutput,
                                               loader: load, compiler: compiler)
                    slot = try ActivationOp.make(name: node.name + "/" + a.name, a, node: node, after)
                }
            }
            slotOf[ni] = slot
        }
        guard let out = slotOf[graph.outputs[0]] else { throw ForwardModelError("the output layer is not computed") }
        if out != compiler.ops.count - 1 {
            // The output must be the last op for the passes; add an identity gather.
            let n = compiler.ops[out].op.outputShape.reduce(1, *)
            _ = try compiler.append(GatherOp(name: "output", map: Array(0..<n), outputShape: [n], kind: "identity"),
                                    inputs: [out], parameters: [])
        }
        let last = compiler.ops[compiler.ops.count - 1].op.outputShape
        guard last.count == 1 else {
            throw ForwardModelError("data audit needs logits of shape [C]; the output has shape \(last)", kind: .unsupported)
        }
        outputCount = last[0]
        ops = compiler.ops.map { e in
            CompiledOp(op: e.op, inputs: e.inputs, size: e.op.outputShape.reduce(1, *), paramOffset: e.paramOffset,
                       paramCount: e.op.parameterCount)
        }
        parameters = compiler.parameters
        parameterCount = compiler.parameters.count
        parameterBlocks = compiler.blocks
        opTheta = Self.split(compiler.parameters, ops)
        var notes = compiler.notes
        if channelsFirst && native.count >= 2 {
            notes.append("model takes channels-first inputs \(native); computed channels-last internally")
        }
        self.notes = notes
    }

    static func split(_ theta: [Double], _ ops: [CompiledOp]) -> [[Double]] {
        ops.map { Array(theta[$0.paramOffset..<($0.paramOffset + $0.paramCount)]) }
    }

    /// The same network with parameters `theta` (length P) in place of the file's.
    public func withParameters(_ theta: [Double]) -> ForwardModel {
        precondition(theta.count == parameterCount)
        return ForwardModel(copying: self, parameters: theta)
    }

    private init(copying m: ForwardModel, parameters theta: [Double]) {
        nativeInputShape = m.nativeInputShape
        inputShape = m.inputShape
        channelsFirst = m.channelsFirst
        inputDimension = m.inputDimension
        outputCount = m.outputCount
        parameterCount = m.parameterCount
        parameters = theta
        parameterBlocks = m.parameterBlocks
        notes = m.notes
        ops = m.ops
        opTheta = Self.split(theta, m.ops)
    }

    /// Converts a batch of `n` inputs in the model's native layout to the internal layout.
    public func toInternal(_ x: [Double], count n: Int) -> [Double] {
        guard channelsFirst, nativeInputShape.count >= 2 else { return x }
        let c = nativeInputShape[0], positions = inputDimension / c
        var out = [Double](repeating: 0, count: x.count)
        for s in 0..<n {
            let b = s * inputDimension
            for ch in 0..<c { for p in 0..<positions { out[b + p * c + ch] = x[b + ch * positions + p] } }
        }
        return out
    }

    /// The logits of `n` inputs given in the model's native layout (row-major `n × d`).
    public func logits(native x: [Double], count n: Int) -> [Double] {
        forward(toInternal(x, count: n), count: n).output
    }
}

/// One op of a compiled model with its place in the data flow.
public struct CompiledOp: Sendable {
    public let op: any DifferentiableOp
    /// Slots of its inputs.
    public let inputs: [Int]
    /// Elements of one output sample.
    public let size: Int
    /// Where its parameter blocks start in θ, and their total length.
    public let paramOffset: Int
    public let paramCount: Int
}

extension NodeKind {
    /// Kinds whose node may carry a built-in activation (`Dense(activation=…)`); an activation
    /// node's own activation is its kind.
    var isActivationCarrier: Bool {
        if case .activation = self { return false }
        return true
    }
}
