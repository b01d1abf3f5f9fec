import LinearAlgebra
import WeightFiles

/// Why a network cannot be run by the forward model.
public struct ForwardModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The network of a `NetworkGraph` compiled into float64 layers that run on batches (SPEC.md §5):
/// forward pass, reverse mode (vector–Jacobian products for inputs and parameters), forward mode
/// (Jacobian–vector products for input and parameter tangents) and the second-order reverse pass
/// (Pearlmutter's R-operator) that gives exact Hessian–vector products.
///
/// Conventions:
/// - Internally every tensor is channels-last (`[spatial…, C]`, one sample per row, flattened in
///   C order). Keras models (`source == "keras_config"`) are channels-last already; PyTorch
///   models (manifest, inferred) take `[C, H, W]` inputs: `toInternal` permutes such inputs, and a
///   `flatten` of a spatial tensor permutes back to channels-first order, so the dense layer after
///   it sees what PyTorch's `flatten` gives.
/// - Parameters θ (one flat vector, `parameters`): dense and conv kernels (canonical `[out, in]`
///   and `[out, in/groups, k…]` orders) and biases, BatchNorm γ and β when the file has them
///   (the moving statistics are buffers, not parameters), PReLU α.
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
    public private(set) var notes: [String] = []

    let ops: [Op]

    // MARK: compile

    /// Compiles `graph` with tensors from `store`. `inputShape` overrides the graph's native
    /// input shape (needed when the graph does not know it, e.g. an inferred conv net).
    public init(graph: NetworkGraph, store: any TensorStore, inputShape override: [Int]? = nil) throws {
        channelsFirst = graph.source != "keras_config"
        guard graph.outputs.count == 1 else {
            throw ForwardModelError("data audit needs a network with one output; this one has \(graph.outputs.count)")
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
        guard inputNodes.count == 1 else {
            throw ForwardModelError("data audit needs a network with one input; this one has \(inputNodes.count)")
        }
        guard let native = override ?? graph.inputShape, !native.isEmpty, native.allSatisfy({ $0 > 0 }) else {
            throw ForwardModelError("data audit needs the input shape (the model file does not state it; pass an architecture manifest with input_shape)")
        }
        nativeInputShape = native
        let internalShape = (channelsFirst && native.count >= 2) ? Array(native.dropFirst()) + [native[0]] : native
        inputShape = internalShape
        inputDimension = native.reduce(1, *)

        var ops: [Op] = []
        var params: [Double] = []
        var blocks: [(String, Int, Int)] = []
        var notes: [String] = []
        var slotOf: [Int: Int] = [:]
        ops.append(Op(name: graph.nodes[inputNodes.first!].name, kind: .input, inputs: [], shape: internalShape))
        slotOf[inputNodes.first!] = 0

        func load(_ ref: TensorRef) throws -> [Double] {
            let d = try store.loadFloat64(ref.name)
            guard d.allSatisfy({ $0.isFinite }) else {
                throw ForwardModelError("data audit needs finite weights: tensor '\(ref.name)' has NaN or Inf")
            }
            return d
        }
        func addParams(_ name: String, _ values: [Double]) -> Int {
            let off = params.count
            params.append(contentsOf: values)
            blocks.append((name, off, values.count))
            return off
        }
        func uncovered(_ node: Node, _ what: String) -> ForwardModelError {
            ForwardModelError("data audit needs a network the forward model covers: layer '\(node.name)' (\(what)) is not one it can run")
        }

        for (ni, node) in graph.nodes.enumerated() where needed.contains(ni) && node.kind != .input {
            let ins = try node.inputs.map { i -> Int in
                guard let s = slotOf[i] else { throw ForwardModelError("layer '\(node.name)': input \(i) is not computed before it") }
                return s
            }
            guard !ins.isEmpty else { throw ForwardModelError("layer '\(node.name)' has no input") }
            func shapeIn(_ k: Int = 0) -> [Int] { ops[ins[k]].shape }
            var slot: Int
            switch node.kind {
            case .input:
                continue
            case .dense(let kernel, let bias):
                let rule = Orientation(rawValue: kernel.orientation.rawValue) ?? .unknown
                let a = try DenseOperator.matrix(data: try load(kernel), shape: kernel.shape, orientation: rule)
                var src = ins[0]
                let s = shapeIn()
                if s.reduce(1, *) != a.cols || (s.count > 1 && !channelsFirst && s.last == a.cols) {
                    throw ForwardModelError("layer '\(node.name)': dense layer with \(a.cols) inputs receives a tensor of shape \(s)")
                }
                if s.count > 1 {
                    // Implicit flatten (a PyTorch Linear after a conv without a stated flatten).
                    ops.append(Op(name: node.name + "/flatten", kind: .gather(Self.flattenMap(s, channelsFirst: channelsFirst)),
                                  inputs: [src], shape: [a.cols]))
                    notes.append("layer '\(node.name)': its \(s) input is flattened \(channelsFirst ? "channels-first" : "channels-last") first")
                    src = ops.count - 1
                }
                let wOff = addParams(node.name + "/kernel", a.storage)
                var bOff: Int? = nil
                if let bias {
                    let b = try load(bias)
                    guard b.count == a.rows else { throw ForwardModelError("layer '\(node.name)': bias has \(b.count) entries for \(a.rows) outputs") }
                    bOff = addParams(node.name + "/bias", b)
                }
                let spec = DenseSpec(inCount: a.cols, outCount: a.rows, weightOffset: wOff, biasOffset: bOff,
                                     weight: a.storage, weightTransposed: a.transposed().storage)
                ops.append(Op(name: node.name, kind: .dense(spec), inputs: [src], shape: [a.rows],
                              paramOffset: wOff, paramCount: a.rows * a.cols + (bias == nil ? 0 : a.rows)))
                slot = ops.count - 1
            case .conv(let c):
                let rule = Orientation(rawValue: c.kernel.orientation.rawValue) ?? .unknown
                let k = try ConvKernel(data: try load(c.kernel), shape: c.kernel.shape, orientation: rule,
                                       groups: c.depthwise && rule == .depthwiseHWIM ? 1 : c.groups)
                let s = shapeIn()
                guard s.count == c.spatialRank + 1, c.spatialRank <= 2, c.spatialRank == k.kernelSize.count else {
                    throw ForwardModelError("layer '\(node.name)': conv\(c.spatialRank)d receives a tensor of shape \(s) (the forward model runs 1-D and 2-D convolutions on [spatial…, channels])")
                }
                guard s.last == k.inChannels else {
                    throw ForwardModelError("layer '\(node.name)': conv expects \(k.inChannels) input channels, receives \(s.last!)")
                }
                let strides = c.strides.isEmpty ? [Int](repeating: 1, count: c.spatialRank) : c.strides
                guard strides.count == c.spatialRank, strides.allSatisfy({ $0 >= 1 }) else {
                    throw ForwardModelError("layer '\(node.name)': strides \(c.strides) do not fit a \(c.spatialRank)-D conv")
                }
                let geo = try ConvGeometry(inSpatial: Array(s.dropLast()), kernel: k.kernelSize, strides: strides,
                                           padding: c.padding, cin: k.inChannels, cout: k.outChannels, groups: k.groups,
                                           layer: node.name)
                let wOff = addParams(node.name + "/kernel", k.weights)
                var bOff: Int? = nil
                if let bias = c.bias {
                    let b = try load(bias)
                    guard b.count == k.outChannels else { throw ForwardModelError("layer '\(node.name)': bias has \(b.count) entries for \(k.outChannels) channels") }
                    bOff = addParams(node.name + "/bias", b)
                }
                ops.append(Op(name: node.name, kind: .conv(ConvSpec2(geometry: geo, weightOffset: wOff, biasOffset: bOff)),
                              inputs: [ins[0]], shape: geo.outSpatial + [k.outChannels],
                              paramOffset: wOff, paramCount: k.weights.count + (bOff == nil ? 0 : k.outChannels)))
                slot = ops.count - 1
            case .batchNorm(let bn):
                let s = shapeIn()
                let ch = s.last!
                let mean = try load(bn.mean), variance = try load(bn.variance)
                guard mean.count == ch, variance.count == ch else {
                    throw ForwardModelError("layer '\(node.name)': BatchNorm statistics have \(mean.count) entries for \(ch) channels")
                }
                let invStd = try (0..<ch).map { i -> Double in
                    let d = variance[i] + bn.epsilon
                    guard d > 0 else { throw ForwardModelError("layer '\(node.name)': variance + epsilon ≤ 0 in channel \(i)") }
                    return 1 / d.squareRoot()
                }
                var gOff: Int? = nil, bOff: Int? = nil
                var constGamma = [Double](repeating: 1, count: ch), constBeta = [Double](repeating: 0, count: ch)
                let first = params.count
                if let g = bn.gamma {
                    constGamma = try load(g)
                    guard constGamma.count == ch else { throw ForwardModelError("layer '\(node.name)': gamma length") }
                    gOff = addParams(node.name + "/gamma", constGamma)
                }
                if let b = bn.beta {
                    constBeta = try load(b)
                    guard constBeta.count == ch else { throw ForwardModelError("layer '\(node.name)': beta length") }
                    bOff = addParams(node.name + "/beta", constBeta)
                }
                ops.append(Op(name: node.name, kind: .batchNorm(BNSpec(channels: ch, mean: mean, invStd: invStd,
                                                                       gammaOffset: gOff, betaOffset: bOff,
                                                                       constGamma: constGamma, constBeta: constBeta)),
                              inputs: [ins[0]], shape: s, paramOffset: first, paramCount: params.count - first))
                slot = ops.count - 1
            case .activation(let a):
                if a == .softmaxOutput {
                    guard graph.outputs[0] == ni else { throw uncovered(node, "softmax inside the network") }
                    notes.append("layer '\(node.name)': softmax at the output dropped (the audited function is the logits)")
                    slotOf[ni] = ins[0]
                    continue
                }
                guard let act = ScalarActivation(a) else { throw uncovered(node, "activation \(a.name)") }
                ops.append(Op(name: node.name, kind: .activation(act), inputs: [ins[0]], shape: shapeIn()))
                slot = ops.count - 1
            case .prelu(let alphaRef):
                let alpha = try load(alphaRef)
                let s = shapeIn()
                let map = try Self.preluMap(alphaShape: alphaRef.shape, count: alpha.count, shape: s, layer: node.name)
                let off = addParams(node.name + "/alpha", alpha)
                ops.append(Op(name: node.name, kind: .prelu(PReLUSpec(alphaOffset: off, alphaIndex: map)),
                              inputs: [ins[0]], shape: s, paramOffset: off, paramCount: alpha.count))
                slot = ops.count - 1
            case .pooling(let kind, let pool, let strides, let global):
                let s = shapeIn()
                guard s.count >= 2 else { throw ForwardModelError("layer '\(node.name)': pooling of a tensor of shape \(s)") }
                let geo = try PoolGeometry(inSpatial: Array(s.dropLast()), channels: s.last!, pool: pool,
                                           strides: strides, global: global, layer: node.name)
                ops.append(Op(name: node.name, kind: .pool(PoolSpec(isMax: kind == .max, geometry: geo)), inputs: [ins[0]],
                              shape: global ? [s.last!] : geo.outSpatial + [s.last!]))
                slot = ops.count - 1
            case .passThrough(let what):
                let s = shapeIn()
                switch what {
                case "flatten":
                    if s.count <= 1 { slotOf[ni] = ins[0]; continue }
                    ops.append(Op(name: node.name, kind: .gather(Self.flattenMap(s, channelsFirst: channelsFirst)),
                                  inputs: [ins[0]], shape: [s.reduce(1, *)]))
                    slot = ops.count - 1
                case "dropout", "identity", "spatialdropout1d", "spatialdropout2d", "spatialdropout3d", "gaussiannoise",
                     "gaussiandropout", "alphadropout", "activityregularization":
                    slotOf[ni] = ins[0]
                    continue
                default:
                    throw uncovered(node, what)
                }
            case .add:
                let s = shapeIn()
                for k in 1..<ins.count where ops[ins[k]].shape != s {
                    throw ForwardModelError("layer '\(node.name)': add of shapes \(s) and \(ops[ins[k]].shape)")
                }
                ops.append(Op(name: node.name, kind: .add, inputs: ins, shape: s))
                slot = ops.count - 1
            case .concatenate:
                let shapes = ins.map { ops[$0].shape }
                let spatial = Array(shapes[0].dropLast())
                guard shapes.allSatisfy({ Array($0.dropLast()) == spatial }) else {
                    throw ForwardModelError("layer '\(node.name)': concatenate of shapes \(shapes) (the forward model joins along the channel axis)")
                }
                let chans = shapes.map { $0.last! }
                ops.append(Op(name: node.name, kind: .concat(chans), inputs: ins, shape: spatial + [chans.reduce(0, +)]))
                slot = ops.count - 1
            case .embedding:
                throw uncovered(node, "Embedding: the input is discrete")
            case .parameterized(let cls, _):
                throw uncovered(node, cls)
            case .unsupported(let cls, _):
                throw uncovered(node, cls)
            }
            if let a = node.activation, a != .linear {
                if a == .softmaxOutput {
                    guard graph.outputs[0] == ni else { throw uncovered(node, "softmax inside the network") }
                    notes.append("layer '\(node.name)': softmax at the output dropped (the audited function is the logits)")
                } else {
                    guard let act = ScalarActivation(a) else { throw uncovered(node, "activation \(a.name)") }
                    ops.append(Op(name: node.name + "/" + a.name, kind: .activation(act), inputs: [slot], shape: ops[slot].shape))
                    slot = ops.count - 1
                }
            }
            slotOf[ni] = slot
        }
        guard let out = slotOf[graph.outputs[0]] else { throw ForwardModelError("the output layer is not computed") }
        if out != ops.count - 1 {
            // The output must be the last op for the passes; add an identity gather.
            let n = ops[out].shape.reduce(1, *)
            ops.append(Op(name: "output", kind: .gather(Array(0..<n)), inputs: [out], shape: [n]))
        }
        guard ops.last!.shape.count == 1 else {
            throw ForwardModelError("data audit needs logits of shape [C]; the output has shape \(ops.last!.shape)")
        }
        outputCount = ops.last!.shape[0]
        self.ops = ops
        parameters = params
        parameterCount = params.count
        parameterBlocks = blocks.map { (name: $0.0, offset: $0.1, count: $0.2) }
        if channelsFirst && native.count >= 2 {
            notes.append("model takes channels-first inputs \(native); computed channels-last internally")
        }
        self.notes = notes
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
        ops = m.ops.map { op in
            guard case .dense(let d) = op.kind else { return op }
            let w = Array(theta[d.weightOffset..<(d.weightOffset + d.outCount * d.inCount)])
            let spec = DenseSpec(inCount: d.inCount, outCount: d.outCount, weightOffset: d.weightOffset, biasOffset: d.biasOffset,
                                 weight: w, weightTransposed: transposed(w, d.outCount, d.inCount))
            return Op(name: op.name, kind: .dense(spec), inputs: op.inputs, shape: op.shape, paramOffset: op.paramOffset,
                      paramCount: op.paramCount)
        }
    }

    /// `out[j] = in[map[j]]` for flattening a channels-last tensor of `shape` in the model's order.
    static func flattenMap(_ shape: [Int], channelsFirst: Bool) -> [Int] {
        let n = shape.reduce(1, *)
        guard channelsFirst, shape.count >= 2 else { return Array(0..<n) }
        let c = shape.last!, positions = n / c
        var map = [Int](repeating: 0, count: n)
        for ch in 0..<c { for p in 0..<positions { map[ch * positions + p] = p * c + ch } }
        return map
    }

    /// For each element of a channels-last tensor of `shape`, the index of its α.
    static func preluMap(alphaShape: [Int], count: Int, shape: [Int], layer: String) throws -> [Int] {
        let n = shape.reduce(1, *)
        if count == 1 { return [Int](repeating: 0, count: n) }
        let c = shape.last!
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

// MARK: - compiled ops

struct DenseSpec {
    let inCount: Int
    let outCount: Int
    let weightOffset: Int
    let biasOffset: Int?
    /// A (`out × in`, row-major) and Aᵀ (`in × out`), the current parameters' copies.
    let weight: [Double]
    let weightTransposed: [Double]
}

struct ConvSpec2 {
    let geometry: ConvGeometry
    let weightOffset: Int
    let biasOffset: Int?
}

struct BNSpec {
    let channels: Int
    let mean: [Double]
    let invStd: [Double]
    let gammaOffset: Int?
    let betaOffset: Int?
    let constGamma: [Double]
    let constBeta: [Double]
}

struct PReLUSpec {
    let alphaOffset: Int
    let alphaIndex: [Int]
}

struct PoolSpec {
    let isMax: Bool
    let geometry: PoolGeometry
}

enum OpKind {
    case input
    case dense(DenseSpec)
    case conv(ConvSpec2)
    case batchNorm(BNSpec)
    case activation(ScalarActivation)
    case prelu(PReLUSpec)
    case pool(PoolSpec)
    /// `out[j] = in[map[j]]` (flatten with a layout change, identity copies).
    case gather([Int])
    case add
    /// Channel counts of the inputs, joined along the last axis.
    case concat([Int])

    static func == (a: OpKind, b: OpKind) -> Bool {
        if case .input = a, case .input = b { return true }
        return false
    }
}

struct Op {
    let name: String
    let kind: OpKind
    let inputs: [Int]
    /// Channels-last output shape of one sample.
    let shape: [Int]
    let size: Int
    let paramOffset: Int
    let paramCount: Int

    init(name: String, kind: OpKind, inputs: [Int], shape: [Int], paramOffset: Int = 0, paramCount: Int = 0) {
        self.name = name
        self.kind = kind
        self.inputs = inputs
        self.shape = shape
        self.size = shape.reduce(1, *)
        self.paramOffset = paramOffset
        self.paramCount = paramCount
    }
}

/// Index tables of a 1-D or 2-D convolution on channels-last data.
struct ConvGeometry {
    let inSpatial: [Int]
    let outSpatial: [Int]
    let cin: Int
    let cout: Int
    let groups: Int
    let taps: Int
    let inPositions: Int
    let outPositions: Int
    /// `src[p·taps + t]`: input position read by tap t at output position p, or −1 (zero padding).
    let src: [Int32]

    var cig: Int { cin / groups }
    var cog: Int { cout / groups }

    init(inSpatial: [Int], kernel: [Int], strides: [Int], padding: String, cin: Int, cout: Int, groups: Int,
         layer: String) throws {
        let d = inSpatial.count
        var out = [Int](), before = [Int]()
        let circular = padding == "circular"
        for a in 0..<d {
            let n = inSpatial[a], k = kernel[a], s = strides[a]
            switch padding {
            case "valid":
                guard n >= k else { throw ForwardModelError("layer '\(layer)': input \(inSpatial) smaller than kernel \(kernel)") }
                out.append((n - k) / s + 1)
                before.append(0)
            case "same", "circular":
                let o = (n + s - 1) / s
                out.append(o)
                before.append(Swift.max((o - 1) * s + k - n, 0) / 2)
            case "causal":
                out.append((n + s - 1) / s)
                before.append(k - 1)
            default:
                throw ForwardModelError("layer '\(layer)': padding '\(padding)' is not one the forward model runs (same, valid, circular, causal)")
            }
        }
        self.inSpatial = inSpatial
        outSpatial = out
        self.cin = cin
        self.cout = cout
        self.groups = groups
        taps = kernel.reduce(1, *)
        inPositions = inSpatial.reduce(1, *)
        outPositions = out.reduce(1, *)
        var src = [Int32](repeating: -1, count: outPositions * taps)
        var oIdx = [Int](repeating: 0, count: d)
        for p in 0..<outPositions {
            var rem = p
            for a in stride(from: d - 1, through: 0, by: -1) { oIdx[a] = rem % out[a]; rem /= out[a] }
            for t in 0..<taps {
                var trem = t
                var pos = 0
                var inside = true
                var tIdx = [Int](repeating: 0, count: d)
                for a in stride(from: d - 1, through: 0, by: -1) { tIdx[a] = trem % kernel[a]; trem /= kernel[a] }
                for a in 0..<d {
                    var i = oIdx[a] * strides[a] + tIdx[a] - before[a]
                    if circular {
                        i = ((i % inSpatial[a]) + inSpatial[a]) % inSpatial[a]
                    } else if i < 0 || i >= inSpatial[a] {
                        inside = false
                    }
                    pos = pos * inSpatial[a] + i
                }
                if inside { src[p * taps + t] = Int32(pos) }
            }
        }
        self.src = src
    }

    /// `y += conv(x, w)` for one sample (no bias).
    @inline(__always)
    func forward(_ x: UnsafePointer<Double>, _ w: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        let cig = self.cig, cog = self.cog, taps = self.taps
        src.withUnsafeBufferPointer { sp in
            for p in 0..<outPositions {
                let yb = y + p * cout
                for t in 0..<taps {
                    let s = Int(sp[p * taps + t])
                    if s < 0 { continue }
                    let xb = x + s * cin
                    for g in 0..<groups {
                        let xg = xb + g * cig
                        for o in 0..<cog {
                            let oo = g * cog + o
                            var acc = 0.0
                            let wb = w + oo * cig * taps + t
                            for i in 0..<cig { acc += wb[i * taps] * xg[i] }
                            yb[oo] += acc
                        }
                    }
                }
            }
        }
    }

    /// `gx += convᵀ(gy, w)` for one sample.
    @inline(__always)
    func transpose(_ gy: UnsafePointer<Double>, _ w: UnsafePointer<Double>, _ gx: UnsafeMutablePointer<Double>) {
        let cig = self.cig, cog = self.cog, taps = self.taps
        src.withUnsafeBufferPointer { sp in
            for p in 0..<outPositions {
                let yb = gy + p * cout
                for t in 0..<taps {
                    let s = Int(sp[p * taps + t])
                    if s < 0 { continue }
                    let xb = gx + s * cin
                    for g in 0..<groups {
                        let xg = xb + g * cig
                        for o in 0..<cog {
                            let oo = g * cog + o
                            let v = yb[oo]
                            if v == 0 { continue }
                            let wb = w + oo * cig * taps + t
                            for i in 0..<cig { xg[i] += wb[i * taps] * v }
                        }
                    }
                }
            }
        }
    }

    /// `gw += ∂⟨gy, conv(x, w)⟩/∂w` for one sample.
    @inline(__always)
    func weightGradient(_ gy: UnsafePointer<Double>, _ x: UnsafePointer<Double>, _ gw: UnsafeMutablePointer<Double>) {
        let cig = self.cig, cog = self.cog, taps = self.taps
        src.withUnsafeBufferPointer { sp in
            for p in 0..<outPositions {
                let yb = gy + p * cout
                for t in 0..<taps {
                    let s = Int(sp[p * taps + t])
                    if s < 0 { continue }
                    let xb = x + s * cin
                    for g in 0..<groups {
                        let xg = xb + g * cig
                        for o in 0..<cog {
                            let oo = g * cog + o
                            let v = yb[oo]
                            if v == 0 { continue }
                            let wb = gw + oo * cig * taps + t
                            for i in 0..<cig { wb[i * taps] += v * xg[i] }
                        }
                    }
                }
            }
        }
    }
}

/// Index tables of a pooling layer on channels-last data (valid windows; global = one window).
struct PoolGeometry {
    let outSpatial: [Int]
    let channels: Int
    let window: Int
    let outPositions: Int
    /// `src[p·window + t]`: input position of element t of window p.
    let src: [Int]

    init(inSpatial: [Int], channels: Int, pool: [Int], strides: [Int], global: Bool, layer: String) throws {
        self.channels = channels
        let d = inSpatial.count
        if global {
            outSpatial = []
            window = inSpatial.reduce(1, *)
            outPositions = 1
            src = Array(0..<window)
            return
        }
        let pool = pool.count == 1 && d > 1 ? [Int](repeating: pool[0], count: d) : pool
        let strides = strides.isEmpty ? pool : (strides.count == 1 && d > 1 ? [Int](repeating: strides[0], count: d) : strides)
        guard pool.count == d, strides.count == d, zip(inSpatial, pool).allSatisfy({ $0 >= $1 }) else {
            throw ForwardModelError("layer '\(layer)': pool \(pool) / strides \(strides) do not fit input \(inSpatial)")
        }
        let out = (0..<d).map { (inSpatial[$0] - pool[$0]) / strides[$0] + 1 }
        outSpatial = out
        window = pool.reduce(1, *)
        outPositions = out.reduce(1, *)
        var src = [Int](repeating: 0, count: outPositions * window)
        for p in 0..<outPositions {
            var rem = p
            var o = [Int](repeating: 0, count: d)
            for a in stride(from: d - 1, through: 0, by: -1) { o[a] = rem % out[a]; rem /= out[a] }
            for t in 0..<window {
                var trem = t
                var k = [Int](repeating: 0, count: d)
                for a in stride(from: d - 1, through: 0, by: -1) { k[a] = trem % pool[a]; trem /= pool[a] }
                var pos = 0
                for a in 0..<d { pos = pos * inSpatial[a] + o[a] * strides[a] + k[a] }
                src[p * window + t] = pos
            }
        }
        self.src = src
    }
}
