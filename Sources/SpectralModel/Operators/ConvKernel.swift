import LinearAlgebra
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 1-D, 2-D or 3-D convolution kernel in canonical PyTorch layout
/// `weights[o, i, t…]` (`[out, in/groups, k…]`, row-major), with `groups`.
///
/// Views (SPEC.md §1):
/// - `reshapedMatrices()`: one `c_out_g × (c_in_g·∏k)` matrix per group (the matrix that
///   spectral-norm layers use); a grouped conv is block-diagonal over groups, so its analysis is
///   per group (the union of the groups' spectra, σ_max = the largest group's).
/// - `exactCircularSpectrum(inputSize:)`: the convolution as a linear map on `c_in × n…`
///   inputs, stride 1, circular padding: exact singular values through the DFT.
/// - `operatorNormUpperBound()`: a certified bound on σ_max valid for every input size, zero or
///   circular padding, any stride.
///
/// Whether the layer computes a convolution or a cross-correlation does not matter: flipping
/// the taps maps the Fourier block at frequency f to the one at −f, and the union over all
/// frequencies is the same multiset.
public struct ConvKernel: Sendable, Equatable {
    public let outChannels: Int
    /// Total input channels (`groups · c_in_g`).
    public let inChannels: Int
    public let groups: Int
    /// Spatial kernel extent, 1 to 3 dimensions.
    public let kernelSize: [Int]
    /// `[out, in/groups, k…]`, row-major.
    public let weights: [Double]

    public var outPerGroup: Int { outChannels / groups }
    public var inPerGroup: Int { inChannels / groups }
    public var tapCount: Int { kernelSize.reduce(1, *) }

    /// From raw data in the layout the file declares.
    /// - `.convOIHW` `[out, in/groups, k…]` (PyTorch), `groups` as given;
    /// - `.convHWIO` `[k…, in/groups, out]` (Keras / TensorFlow), `groups` as given;
    /// - `.depthwiseHWIM` `[k…, in, multiplier]` (Keras DepthwiseConv): groups = in, output
    ///   channel `c·multiplier + j` filters input channel c (`groups` must be 1 or `in`).
    public init(data: [Double], shape: [Int], orientation: Orientation, groups: Int = 1) throws {
        guard shape.count >= 3, shape.count <= 5, shape.allSatisfy({ $0 >= 1 }) else {
            throw OperatorError.unsupportedShape(shape: shape, orientation: orientation)
        }
        let total = shape.reduce(1, *)
        guard data.count == total else { throw OperatorError.elementCountMismatch(expected: total, actual: data.count) }
        let d = shape.count - 2
        switch orientation {
        case .convOIHW:
            let co = shape[0], cig = shape[1]
            guard groups >= 1, co % groups == 0 else {
                throw OperatorError.invalidGroups(groups: groups, inChannels: cig * Swift.max(groups, 1), outChannels: co)
            }
            self.init(outChannels: co, inChannels: cig * groups, groups: groups,
                      kernelSize: Array(shape[2...]), weights: data)
        case .convHWIO:
            let ks = Array(shape[0..<d]), cig = shape[d], co = shape[d + 1]
            guard groups >= 1, co % groups == 0 else {
                throw OperatorError.invalidGroups(groups: groups, inChannels: cig * Swift.max(groups, 1), outChannels: co)
            }
            let taps = ks.reduce(1, *)
            var w = [Double](repeating: 0, count: total)
            for t in 0..<taps {
                for i in 0..<cig {
                    for o in 0..<co { w[(o * cig + i) * taps + t] = data[(t * cig + i) * co + o] }
                }
            }
            self.init(outChannels: co, inChannels: cig * groups, groups: groups, kernelSize: ks, weights: w)
        case .depthwiseHWIM:
            let ks = Array(shape[0..<d]), cin = shape[d], mult = shape[d + 1]
            guard groups == 1 || groups == cin else {
                throw OperatorError.invalidGroups(groups: groups, inChannels: cin, outChannels: cin * mult)
            }
            let taps = ks.reduce(1, *)
            var w = [Double](repeating: 0, count: total)
            for t in 0..<taps {
                for c in 0..<cin {
                    for j in 0..<mult { w[(c * mult + j) * taps + t] = data[(t * cin + c) * mult + j] }
                }
            }
            self.init(outChannels: cin * mult, inChannels: cin, groups: cin, kernelSize: ks, weights: w)
        default:
            throw OperatorError.unsupportedOrientation(orientation)
        }
    }

    /// Direct construction in canonical layout.
    public init(outChannels: Int, inChannels: Int, groups: Int, kernelSize: [Int], weights: [Double]) {
        precondition(groups >= 1 && outChannels % groups == 0 && inChannels % groups == 0)
        precondition(weights.count == outChannels * (inChannels / groups) * kernelSize.reduce(1, *))
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.groups = groups
        self.kernelSize = kernelSize
        self.weights = weights
    }

    func replacingWeights(_ w: [Double]) -> ConvKernel {
        ConvKernel(outChannels: outChannels, inChannels: inChannels, groups: groups, kernelSize: kernelSize, weights: w)
    }

    /// Weights of group g, `[c_out_g, c_in_g, k…]`, contiguous.
    func groupWeights(_ g: Int) -> ArraySlice<Double> {
        let per = outPerGroup * inPerGroup * tapCount
        return weights[(g * per)..<((g + 1) * per)]
    }

    /// One `c_out_g × (c_in_g·∏k)` matrix per group: row o, column `i·∏k + t`
    /// (PyTorch `weight.view(out, -1)` restricted to the group).
    public func reshapedMatrices() -> [Matrix] {
        (0..<groups).map { g in
            Matrix(rows: outPerGroup, cols: inPerGroup * tapCount, storage: Array(groupWeights(g)))
        }
    }

    /// All `groups · min(c_out_g, c_in_g) · ∏n` singular values (descending) of the stride-1
    /// circular convolution on an input of spatial size `inputSize` (Sedghi, Gupta & Long,
    /// "The Singular Values of Convolutional Layers", ICLR 2019): the union over frequencies
    /// f ∈ ∏ Z_{n_d} of the singular values of `K̂(f) = Σ_t K[:, :, t] e^{−2πi Σ_d t_d f_d / n_d}`.
    /// Blocks at f and −f are complex conjugates (same σ), so only one of each pair is computed.
    /// Each block's σ come from `SVD.complexSingularValues` (dgesdd on the real embedding):
    /// accurate to `c·ε·σ_1`. Requires `inputSize.count == kernelSize.count` and `n_d ≥ k_d`.
    public func exactCircularSpectrum(inputSize: [Int]) throws -> [Double] {
        var out = [Double]()
        out.reserveCapacity(groups * Swift.min(outPerGroup, inPerGroup) * inputSize.reduce(1, *))
        try forEachFrequencyBlock(inputSize: inputSize) { re, im, multiplicity in
            let sv = try SVD.complexSingularValues(real: re, imaginary: im)
            for _ in 0..<multiplicity { out.append(contentsOf: sv) }
        }
        out.sort(by: >)
        return out
    }

    /// σ_max of the same stride-1 circular convolution: `max_f ‖K̂(f)‖₂`, each block's norm from
    /// `SVD.complexLargestSingularValue` (Hermitian Gram by `zherk` + `zheevr`; relative error of
    /// order p·ε, tested equal to `exactCircularSpectrum(inputSize:)[0]` to 1e-12). What the padded
    /// and strided bounds need.
    ///
    /// Blocks are visited in decreasing Frobenius norm; once the largest block's σ_max is known,
    /// every other block is first checked by a Cholesky factorisation to have σ_max ≤ that value
    /// (`SVD.complexLargestSingularValue(real:imaginary:unlessAtMost:)`, rigorous in floating
    /// point) and only computed when the check fails. The result is the same value, to the bit, as
    /// computing every block (tested), at a fraction of the cost: on VGG-11's 512-channel layers
    /// most blocks need only their Gram and a p³/3 factorisation instead of a tridiagonal
    /// reduction (4p³/3, half of it in memory-bound level-2 BLAS).
    public func circularSpectralNorm(inputSize: [Int]) throws -> Double {
        try circularSpectralNorm(inputSize: inputSize, pruning: true)
    }

    /// `pruning: false` computes every block (the reference for the tests).
    func circularSpectralNorm(inputSize: [Int], pruning: Bool) throws -> Double {
        let blocks = try FrequencyBlocks(self, inputSize: inputSize)
        var order: [(frequency: Int, group: Int, frobenius: Double)] = []
        order.reserveCapacity(blocks.frequencies.count * groups)
        for f in blocks.frequencies {
            for g in 0..<groups { order.append((f.index, g, try blocks.frobeniusSquared(frequency: f.index, group: g))) }
        }
        // Only the visiting order depends on these norms (rounding in them cannot change the result).
        if pruning { order.sort { ($0.frobenius, $1.frequency, $1.group) > ($1.frobenius, $0.frequency, $0.group) } }
        var top = 0.0
        let rows = outPerGroup, cols = inPerGroup
        for item in order {
            let block = try blocks.interleavedBlock(frequency: item.frequency, group: item.group)
            // Without pruning (or before the first value) nothing is certified: every block is computed.
            if let value = try SVD.complexLargestSingularValue(interleaved: block, rows: rows, cols: cols,
                                                               unlessAtMost: pruning ? top : -.infinity) {
                top = Swift.max(top, value)
            }
        }
        return top
    }

    /// Calls `body` with `K̂(f)` (real and imaginary parts, `c_out_g × c_in_g`) of every group at one
    /// frequency of each conjugate pair {f, −f}, and the pair's size (1 when f = −f, else 2).
    private func forEachFrequencyBlock(inputSize: [Int], _ body: (Matrix, Matrix, Int) throws -> Void) throws {
        let blocks = try FrequencyBlocks(self, inputSize: inputSize)
        let count = outPerGroup * inPerGroup
        for f in blocks.frequencies {
            for g in 0..<groups {
                let z = try blocks.interleavedBlock(frequency: f.index, group: g)
                let re = (0..<count).map { z[2 * $0] }, im = (0..<count).map { z[2 * $0 + 1] }
                try body(Matrix(rows: outPerGroup, cols: inPerGroup, storage: re),
                         Matrix(rows: outPerGroup, cols: inPerGroup, storage: im), f.multiplicity)
            }
        }
    }

    /// The DFT blocks `K̂(f) = Σ_t K[:, :, t] e^{−2πi Σ_d t_d f_d / n_d}` of one kernel on the torus
    /// `∏ Z_{n_d}`, one frequency of each conjugate pair, computed on demand.
    private struct FrequencyBlocks {
        let kernel: ConvKernel
        let n: [Int]
        /// Tap multi-indices, row-major over the kernel size.
        let tapIndex: [[Int]]
        /// `e^{−2πi j / n_a}` per axis.
        let tables: [[(Double, Double)]]
        /// One frequency (row-major index over the torus) of each pair {f, −f}, with the pair's size.
        let frequencies: [(index: Int, multiplicity: Int)]
        /// Each group's weights, `(c_out_g·c_in_g) × taps` (their storage order).
        let groupMatrices: [Matrix]
        /// `WᵀW` of each group, `taps × taps`.
        let autocorrelations: [Matrix]

        init(_ kernel: ConvKernel, inputSize: [Int]) throws {
            let d = kernel.kernelSize.count
            guard inputSize.count == d, zip(inputSize, kernel.kernelSize).allSatisfy({ $0 >= $1 }) else {
                throw OperatorError.inputSmallerThanKernel(inputSize: inputSize, kernelSize: kernel.kernelSize)
            }
            self.kernel = kernel
            n = inputSize
            tapIndex = (0..<kernel.tapCount).map { t in
                var rem = t
                var idx = [Int](repeating: 0, count: d)
                for a in stride(from: d - 1, through: 0, by: -1) { idx[a] = rem % kernel.kernelSize[a]; rem /= kernel.kernelSize[a] }
                return idx
            }
            tables = inputSize.map { na in
                (0..<na).map { j in let th = -2 * Double.pi * Double(j) / Double(na); return (cos(th), sin(th)) }
            }
            var list: [(Int, Int)] = []
            for f in 0..<inputSize.reduce(1, *) {
                let idx = Self.multiIndex(f, inputSize)
                var neg = 0
                for a in 0..<d { neg = neg * inputSize[a] + (inputSize[a] - idx[a]) % inputSize[a] }
                if neg < f { continue }
                list.append((f, neg == f ? 1 : 2))
            }
            frequencies = list
            let rows = kernel.outPerGroup * kernel.inPerGroup, taps = kernel.tapCount
            groupMatrices = (0..<kernel.groups).map { Matrix(rows: rows, cols: taps, storage: Array(kernel.groupWeights($0))) }
            autocorrelations = try groupMatrices.map { try $0.transposed().multiplied(by: $0) }
        }

        static func multiIndex(_ f: Int, _ n: [Int]) -> [Int] {
            var rem = f
            var idx = [Int](repeating: 0, count: n.count)
            for a in stride(from: n.count - 1, through: 0, by: -1) { idx[a] = rem % n[a]; rem /= n[a] }
            return idx
        }

        /// `[cos θ_t(f), sin θ_t(f)]` per tap, `taps × 2` row-major: `K̂(f) = W · phases`.
        func phases(frequency f: Int) -> Matrix {
            let fIdx = Self.multiIndex(f, n)
            let taps = tapIndex.count
            var p = [Double](repeating: 0, count: 2 * taps)
            for t in 0..<taps {
                var c = 1.0, s = 0.0
                for a in 0..<n.count {
                    let (tc, ts) = tables[a][(tapIndex[t][a] * fIdx[a]) % n[a]]
                    (c, s) = (c * tc - s * ts, c * ts + s * tc)
                }
                p[2 * t] = c
                p[2 * t + 1] = s
            }
            return Matrix(rows: taps, cols: 2, storage: p)
        }

        /// `K̂(f)` of group `g`, `c_out_g × c_in_g` complex as interleaved (re, im) doubles: the
        /// group's weights as a `(c_out_g·c_in_g) × taps` matrix times the phases (`dgemm`).
        func interleavedBlock(frequency f: Int, group g: Int) throws -> [Double] {
            try groupMatrices[g].multiplied(by: phases(frequency: f)).storage
        }

        /// `‖K̂(f)‖_F² = Σ_{t,t'} C[t,t'] (c_t c_t' + s_t s_t')` with `C = WᵀW` of the group: from
        /// the taps × taps autocorrelation, without forming the block.
        func frobeniusSquared(frequency f: Int, group g: Int) throws -> Double {
            let p = phases(frequency: f)
            let cp = try autocorrelations[g].multiplied(by: p)
            var total = 0.0
            for k in 0..<p.storage.count { total += p.storage[k] * cp.storage[k] }
            return total
        }
    }

    /// A certified upper bound on the operator norm σ_max of this convolution for every input
    /// size, zero or circular padding, and any stride ≥ 1.
    ///
    /// Why it holds: a strided convolution is a coordinate restriction of the stride-1 one
    /// (norm ≤ 1 factor); a zero-padded one on an input of size n is the circular one on a torus
    /// of size ≥ n + k − 1 between an isometric zero-embedding and a restriction; a circular one
    /// has norm `max_f ‖K̂(f)‖₂`. So any bound on `sup_ω ‖K̂(ω)‖₂` over continuous ω bounds them
    /// all. Two such bounds are computed per group and the smaller is kept:
    /// - `tap_sum`: `Σ_t ‖K[:, :, t]‖₂` (triangle inequality; the shifts have norm ≤ 1);
    /// - `reshape`: for each split of the spatial axes into S (with the output channels) and T
    ///   (with the input channels), the matrix `R_S` with block `(s, t) = K[:, :, s ∪ t]`,
    ///   `(c_out·∏_{S}k) × (c_in·∏_{T}k)`, gives `K̂(ω) = (φ_Sᵀ ⊗ I) R_S (φ_T ⊗ I)` with
    ///   unimodular phase vectors, hence `‖K̂(ω)‖₂ ≤ sqrt(∏k) · ‖R_S‖₂`. For 2-D these are the
    ///   four reshapings of Singla & Feizi, "Fantastic Four" (ICLR 2021); 1-D has 2, 3-D has 8.
    /// Grouped convolutions are block-diagonal: the bound is the maximum over groups.
    /// The matrix norms come from `SVD.largestSingularValue` (Gram λ_max, relative error ≲ p·ε);
    /// the result is multiplied by (1 + 1e-10) so rounding cannot make it undercut the true value.
    public func operatorNormUpperBound() throws -> ConvOperatorBound {
        try operatorNormUpperBound(unlessAtLeast: .infinity)!
    }

    /// The same bound, when it is below `cutoff`; nil when it provably is not (then the caller
    /// keeps its own, smaller value). Only the smallest candidate matters, so each candidate gets
    /// a rigorous lower bound first — `‖A‖₂ ≥ ‖A‖_F / sqrt(min(m, n))` (every reshaping holds the
    /// same entries), and the power method's `‖Ax‖/‖x‖` (`SVD.largestSingularValueLowerBound`,
    /// 8 steps) — and the exact norms are computed in increasing order of those floors, skipping
    /// every candidate whose floor reaches the cutoff or the smallest value found so far. With a
    /// tight DFT norm as the cutoff this skips every SVD of a typical 3×3 layer. The result is the
    /// same as computing every candidate (tested).
    public func operatorNormUpperBound(unlessAtLeast cutoff: Double) throws -> ConvOperatorBound? {
        try operatorNormUpperBound(unlessAtLeast: cutoff, pruning: true)
    }

    /// `pruning: false` computes every candidate (the reference for the tests).
    func operatorNormUpperBound(unlessAtLeast cutoff: Double, pruning: Bool) throws -> ConvOperatorBound? {
        let d = kernelSize.count
        let axisNames = d == 1 ? ["w"] : d == 2 ? ["h", "w"] : ["d", "h", "w"]
        let cog = outPerGroup, cig = inPerGroup, taps = tapCount
        let rootTaps = Double(taps).squareRoot()
        var best: ConvOperatorBound? = nil
        for g in 0..<groups {
            let w = Array(groupWeights(g))
            // Lower bounds of the candidates (a hair below, against rounding of the sums).
            let margin = 1 - 1e-12
            var tapFrobenius = [Double](repeating: 0, count: taps)
            for (j, v) in w.enumerated() { tapFrobenius[j % taps] += v * v }
            let p = Double(Swift.max(1, Swift.min(cog, cig)))
            let frobenius = tapFrobenius.reduce(0, +).squareRoot()

            // The candidates: the tap sum, then one reshaping per split of the spatial axes.
            struct Candidate {
                var name: String
                var floor: Double
                var matrices: () -> [Matrix]
                var scale: Double
            }
            var candidates: [Candidate] = []
            let tapMatrices = {
                (0..<taps).map { t in
                    var m = [Double](repeating: 0, count: cog * cig)
                    for o in 0..<cog { for i in 0..<cig { m[o * cig + i] = w[(o * cig + i) * taps + t] } }
                    return Matrix(rows: cog, cols: cig, storage: m)
                }
            }
            candidates.append(Candidate(name: "tap_sum", floor: tapFrobenius.reduce(0) { $0 + $1.squareRoot() } / p.squareRoot() * margin,
                                        matrices: tapMatrices, scale: 1))
            for mask in 0..<(1 << d) {
                let sAxes = (0..<d).filter { mask & (1 << $0) != 0 }
                let tAxes = (0..<d).filter { mask & (1 << $0) == 0 }
                let ks = sAxes.reduce(1) { $0 * kernelSize[$1] }, kt = tAxes.reduce(1) { $0 * kernelSize[$1] }
                let rows = cog * ks, cols = cig * kt
                let reshaped = {
                    var r = [Double](repeating: 0, count: rows * cols)
                    for t in 0..<taps {
                        // split tap t into its S-part and T-part indices
                        var rem = t
                        var idx = [Int](repeating: 0, count: d)
                        for a in stride(from: d - 1, through: 0, by: -1) { idx[a] = rem % self.kernelSize[a]; rem /= self.kernelSize[a] }
                        var si = 0, ti = 0
                        for a in sAxes { si = si * self.kernelSize[a] + idx[a] }
                        for a in tAxes { ti = ti * self.kernelSize[a] + idx[a] }
                        for o in 0..<cog {
                            for i in 0..<cig { r[(o * ks + si) * cols + i * kt + ti] = w[(o * cig + i) * taps + t] }
                        }
                    }
                    return [Matrix(rows: rows, cols: cols, storage: r)]
                }
                let name = "reshape[out×\(sAxes.map { axisNames[$0] }.joined()); in×\(tAxes.map { axisNames[$0] }.joined())]"
                candidates.append(Candidate(name: name, floor: rootTaps * frobenius / Double(Swift.max(1, Swift.min(rows, cols))).squareRoot() * margin,
                                            matrices: reshaped, scale: rootTaps))
            }
            // Tighter floors by the power method, where the cheap one does not already decide.
            var floors = pruning ? candidates.map(\.floor) : candidates.map { _ in -Double.infinity }
            if pruning {
                for (j, c) in candidates.enumerated() where c.floor < cutoff {
                    floors[j] = Swift.max(c.floor, c.scale * c.matrices().reduce(0) { $0 + SVD.largestSingularValueLowerBound($1) })
                }
            }
            // Ties go to the earlier candidate (tap sum first, then the splits in order).
            var groupBest = (value: Double.infinity, method: "tap_sum", index: Int.max)
            var tapSum = Double.infinity
            var reshapes: [String: Double] = [:]
            for j in floors.indices.sorted(by: { (floors[$0], $0) < (floors[$1], $1) }) {
                if pruning && (floors[j] > groupBest.value || floors[j] >= cutoff) { continue }
                let c = candidates[j]
                var value = 0.0
                for m in c.matrices() { value += try SVD.largestSingularValue(m) }
                value *= c.scale
                if j == 0 { tapSum = value } else { reshapes[c.name] = value }
                if value < groupBest.value || (value == groupBest.value && j < groupBest.index) { groupBest = (value, c.name, j) }
            }
            // Every candidate of this group is at least the cutoff: so is the bound (a maximum over groups).
            if groupBest.value * (1 + 1e-10) >= cutoff { return nil }
            let candidate = ConvOperatorBound(value: groupBest.value * (1 + 1e-10), method: groupBest.method,
                                              tapSum: tapSum, reshapeBounds: reshapes, group: g)
            if best == nil || candidate.value > best!.value { best = candidate }
        }
        return best
    }
}

/// A certified upper bound on a convolution's σ_max (see `ConvKernel.operatorNormUpperBound`).
public struct ConvOperatorBound: Sendable, Equatable {
    /// The bound (the smallest candidate of the binding group, times 1 + 1e-10).
    public var value: Double
    /// Which candidate gave it: `tap_sum` or `reshape[out×…; in×…]`.
    public var method: String
    /// `Σ_t ‖K_t‖₂` of the binding group (infinity when it provably could not be the smallest
    /// candidate and was not computed).
    public var tapSum: Double
    /// `sqrt(∏k)·‖R_S‖₂` for the splits S of the binding group that were computed (the others
    /// provably could not be the smallest).
    public var reshapeBounds: [String: Double]
    /// The group whose bound is the largest (the block-diagonal operator's norm is the max).
    public var group: Int
}
