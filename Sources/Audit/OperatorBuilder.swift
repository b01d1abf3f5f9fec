import LinearAlgebra
import SpectralModel
import WeightFiles

/// Turns graph tensors into the operators of SPEC §1 (through `SpectralModel.Operators`) and
/// chooses how a convolution's operator norm is obtained.
enum OperatorBuilder {
    /// The canonical `[out, in]` matrix of a dense kernel.
    static func dense(data: [Double], ref: TensorRef) throws -> Matrix {
        try DenseOperator.matrix(data: data, shape: ref.shape, orientation: ref.orientation)
    }

    static func conv(data: [Double], spec: ConvSpec) throws -> ConvKernel {
        let groups = spec.kernel.orientation == .depthwiseHWIM ? 1 : spec.groups
        return try ConvKernel(data: data, shape: spec.kernel.shape, orientation: spec.kernel.orientation,
                              groups: groups)
    }

    /// Largest cost (≈ blocks · c_out · c_in · min(c_out, c_in) flops) spent on a DFT spectrum
    /// before falling back to the input-size-independent bound.
    static let fftBudget = 1.6e10

    struct ConvNorm {
        var norm: Double
        /// `fft_exact`: circular padding, stride 1, at the layer's input size (Sedghi et al.);
        /// `fft_padded_bound`: zero padding or stride > 1 at a known input size — the circulant on
        /// the (n + k − 1)-torus (zero padding) or the n-torus (strided circular), whose norm
        /// bounds the layer's;
        /// `upper_bound`: certified for every input size (`ConvKernel.operatorNormUpperBound`).
        var method: String
        var spectrum: [Double]?
    }

    /// σ_max of the convolution as a linear map on its input (SPEC §1 `operator`).
    /// `spatial`: the layer's input spatial size, when known.
    static func convOperatorNorm(_ k: ConvKernel, spec: ConvSpec, spatial: [Int]?, includeSpectrum: Bool) throws -> ConvNorm {
        let boundOnly = { ConvNorm(norm: try k.operatorNormUpperBound().value, method: OperatorNormMethod.upperBound.rawValue, spectrum: nil) }
        guard let n = spatial, n.count == k.kernelSize.count else { return try boundOnly() }
        // Circular padding: the operator at stride 1 is the circulant on the n-torus (exact);
        // a stride subsamples its output (norm ≤ 1), so the same spectrum bounds it.
        // Zero padding: the padded operator is a crop of the circulant on the (n + k − 1)-torus.
        let isCircular = spec.padding == "circular"
        let circular = isCircular && spec.strides.allSatisfy { $0 == 1 }
        let torus = isCircular ? n : zip(n, k.kernelSize).map { $0 + $1 - 1 }
        guard zip(torus, k.kernelSize).allSatisfy({ $0 >= $1 }) else { return try boundOnly() }
        let blocks = Double(torus.reduce(1, *))
        let co = Double(k.outPerGroup), ci = Double(k.inPerGroup)
        guard blocks * co * ci * min(co, ci) * Double(k.groups) <= fftBudget else { return try boundOnly() }
        if circular && includeSpectrum {
            let values = try k.exactCircularSpectrum(inputSize: torus)
            return ConvNorm(norm: values.first ?? 0, method: OperatorNormMethod.fftExact.rawValue, spectrum: values)
        }
        // Only σ_max is needed: each frequency block's largest singular value alone.
        let top = try k.circularSpectralNorm(inputSize: torus)
        if circular {
            return ConvNorm(norm: top, method: OperatorNormMethod.fftExact.rawValue, spectrum: nil)
        }
        // Both are sound bounds for the padded operator; keep the smaller (ties: the DFT's). The
        // certified bound's candidates that provably cannot undercut `top` are not computed.
        if let bound = try k.operatorNormUpperBound(unlessAtLeast: top), bound.value < top {
            return ConvNorm(norm: bound.value, method: OperatorNormMethod.upperBound.rawValue, spectrum: nil)
        }
        return ConvNorm(norm: top, method: OperatorNormMethod.fftPaddedBound.rawValue, spectrum: nil)
    }
}

extension NetworkGraph {
    /// Each node's input spatial size (channels excluded), propagated from `inputSpatial`
    /// through convolutions (`same`: ⌈n/s⌉, `valid`: ⌈(n−k+1)/s⌉) and pooling (⌊(n−p)/s⌋+1).
    /// Nodes after a flatten, global pooling or an unknown layer have none.
    /// Inferred graphs cannot see pooling or strides, so only their first convolution gets a size.
    func spatialSizes(inputSpatial: [Int]?) -> [Int: [Int]] {
        guard let inputSpatial else { return [:] }
        if source == "inferred" {
            guard let first = nodes.firstIndex(where: { $0.kind.isOperator }), case .conv = nodes[first].kind else { return [:] }
            return [first: inputSpatial]
        }
        var out: [Int: [Int]] = [:]   // node → its output spatial size
        var inSize: [Int: [Int]] = [:]
        for (i, node) in nodes.enumerated() {
            let input: [Int]? = node.inputs.isEmpty ? inputSpatial : out[node.inputs[0]]
            if let input { inSize[i] = input }
            guard let n = input else { continue }
            switch node.kind {
            case .input:
                out[i] = inputSpatial
            case .conv(let c):
                let k: [Int]
                switch c.kernel.orientation {
                case .convOIHW: k = Array(c.kernel.shape.dropFirst(2))
                default: k = Array(c.kernel.shape.prefix(c.spatialRank))
                }
                guard k.count == n.count else { continue }
                // Explicit (ONNX) pads: the output size is not tracked; later layers get none.
                if c.padding == "explicit" { continue }
                let s = c.strides.count == n.count ? c.strides : [Int](repeating: c.strides.first ?? 1, count: n.count)
                out[i] = (0..<n.count).map { d in
                    let len = c.padding == "valid" ? n[d] - k[d] + 1 : n[d]
                    return max(0, (len + s[d] - 1) / s[d])
                }
            case .pooling(_, let pool, let strides, let global):
                guard !global, pool.count == n.count else { continue }
                let s = strides.count == n.count ? strides : (strides.count == 1 ? [Int](repeating: strides[0], count: n.count) : pool)
                out[i] = (0..<n.count).map { d in max(0, (n[d] - pool[d]) / s[d] + 1) }
            case .batchNorm, .activation, .prelu, .add, .concatenate:
                out[i] = n
            case .passThrough(let what) where what.contains("dropout") || what == "identity" || what == "activityregularization":
                out[i] = n
            default:
                continue
            }
        }
        return inSize
    }

    /// The spatial part of the input shape: Keras is channels-last (`[H, W, C]` → `[H, W]`).
    var inputSpatial: [Int]? {
        guard let s = inputShape, s.count >= 2 else { return nil }
        return source == "keras_config" ? Array(s.dropLast()) : Array(s.dropFirst())
    }
}
