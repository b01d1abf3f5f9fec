import TestSupport
import XCTest
import LinearAlgebra
import WeightFiles
@testable import SpectralModel

/// Operators from tensors (SPEC.md §1) against numpy references in fixtures/spectra.
/// Tolerances: circular spectra within 1e-10·σ_1 of the explicitly built matrix's numpy σ
/// (both sides are dgesdd-accurate, ~1e-14); reshaped views within 1e-12·σ_1; BatchNorm to 1e-14.
final class OperatorTests: XCTestCase {
    // MARK: dense

    func testDenseOrientationGivesOutByIn() throws {
        // Keras kernel [in = 2, out = 3]
        let kernel: [Double] = [1, 2, 3,
                                4, 5, 6]
        let a = try DenseOperator.matrix(data: kernel, shape: [2, 3], orientation: .inOut)
        XCTAssertEqual(a.rows, 3)
        XCTAssertEqual(a.cols, 2)
        XCTAssertEqual(a.storage, [1, 4, 2, 5, 3, 6])
        // PyTorch weight [out = 2, in = 3] is the operator itself
        let b = try DenseOperator.matrix(data: kernel, shape: [2, 3], orientation: .outIn)
        XCTAssertEqual(b, Matrix(rows: 2, cols: 3, storage: kernel))
        XCTAssertThrowsError(try DenseOperator.matrix(data: kernel, shape: [2, 3], orientation: .unknown))
        XCTAssertThrowsError(try DenseOperator.matrix(data: kernel, shape: [6], orientation: .outIn))
        XCTAssertThrowsError(try DenseOperator.matrix(data: kernel, shape: [2, 2], orientation: .outIn)) {
            XCTAssertEqual($0 as? OperatorError, .elementCountMismatch(expected: 4, actual: 6))
        }
    }

    // MARK: convolution fixtures

    func kernel(_ c: SpectraFixtures.ConvCase) throws -> ConvKernel {
        try ConvKernel(data: SpectraFixtures.doubles(c.fileOIHW), shape: c.shapeOIHW, orientation: .convOIHW, groups: c.groups)
    }

    func testKerasAndPyTorchLayoutsGiveTheSameKernel() throws {
        for c in SpectraFixtures.manifest.convs {
            let oihw = try kernel(c)
            let hwio = try ConvKernel(data: SpectraFixtures.doubles(c.fileHWIO), shape: c.shapeHWIO,
                                      orientation: .convHWIO, groups: c.groups)
            XCTAssertEqual(oihw, hwio, c.name)
            if let f = c.fileHWIM, let s = c.shapeHWIM {
                let dw = try ConvKernel(data: SpectraFixtures.doubles(f), shape: s, orientation: .depthwiseHWIM)
                XCTAssertEqual(dw, oihw, c.name)
                XCTAssertEqual(dw.groups, dw.inChannels)
            }
        }
    }

    func testExactCircularSpectrumEqualsExplicitMatrixWithin1e10RelativeToSigma1() throws {
        for c in SpectraFixtures.manifest.convs {
            let k = try kernel(c)
            for (nString, ref) in c.circular {
                let n = Int(nString)!
                let got = try k.exactCircularSpectrum(inputSize: [Int](repeating: n, count: k.kernelSize.count))
                XCTAssertEqual(got.count, ref.count, "\(c.name) n=\(n)")
                for (g, r) in zip(got, ref) {
                    XCTAssertEqual(g, r, accuracy: 1e-10 * ref[0], "\(c.name) n=\(n)")
                }
            }
        }
    }

    /// The σ_max-only path (Gram of each block's real embedding) equals the top of the full
    /// spectrum (dgesdd) and numpy's explicit-matrix σ_max to 1e-12 relative.
    func testCircularSpectralNormEqualsTopOfExactSpectrumWithin1e12() throws {
        var checked = 0
        for c in SpectraFixtures.manifest.convs {
            let k = try kernel(c)
            for (nString, ref) in c.circular {
                let size = [Int](repeating: Int(nString)!, count: k.kernelSize.count)
                let top = try k.circularSpectralNorm(inputSize: size)
                let full = try k.exactCircularSpectrum(inputSize: size)[0]
                XCTAssertEqual(top, full, accuracy: 1e-12 * full, "\(c.name) n=\(nString)")
                XCTAssertEqual(top, ref[0], accuracy: 1e-12 * ref[0], "\(c.name) n=\(nString)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 3)
    }

    func testComplexLargestSingularValueOfKnownMatrices() throws {
        // diag(3 + 4i, 1 − i) → 5; a zero matrix → 0; [[1, i], [i, 1]] → √2
        XCTAssertEqual(try SVD.complexLargestSingularValue(real: Matrix(rows: 2, cols: 2, storage: [3, 0, 0, 1]),
                                                           imaginary: Matrix(rows: 2, cols: 2, storage: [4, 0, 0, -1])),
                       5, accuracy: 1e-14)
        XCTAssertEqual(try SVD.complexLargestSingularValue(real: Matrix(rows: 2, cols: 3, storage: [Double](repeating: 0, count: 6)),
                                                           imaginary: Matrix(rows: 2, cols: 3, storage: [Double](repeating: 0, count: 6))),
                       0)
        XCTAssertEqual(try SVD.complexLargestSingularValue(real: Matrix(rows: 2, cols: 2, storage: [1, 0, 0, 1]),
                                                           imaginary: Matrix(rows: 2, cols: 2, storage: [0, 1, 1, 0])),
                       2.0.squareRoot(), accuracy: 1e-14)
    }

    func testReshapedMatricesPerGroupMatchNumpy() throws {
        for c in SpectraFixtures.manifest.convs {
            let mats = try kernel(c).reshapedMatrices()
            XCTAssertEqual(mats.count, c.groups)
            for (m, ref) in zip(mats, c.reshapedSingularValues) {
                let s = try SVD.singularValues(m).values
                XCTAssertEqual(s.count, ref.count)
                for (g, r) in zip(s, ref) { XCTAssertEqual(g, r, accuracy: 1e-12 * ref[0], c.name) }
            }
        }
    }

    func testCircularSpectrumNeedsInputAtLeastKernel() throws {
        let k = try kernel(SpectraFixtures.manifest.convs[0])
        XCTAssertThrowsError(try k.exactCircularSpectrum(inputSize: [2, 8]))
        XCTAssertThrowsError(try k.exactCircularSpectrum(inputSize: [8]))
    }

    // MARK: certified upper bound

    /// Explicit matrix of a 2-D zero-padded, strided cross-correlation (y = W ⋆ x), for checking
    /// the "any input size, padding and stride" claim of the bound directly.
    func zeroPaddedConvMatrix(_ k: ConvKernel, n: Int, pad: Int, stride: Int) -> Matrix {
        let kh = k.kernelSize[0], kw = k.kernelSize[1]
        let out = (n + 2 * pad - kh) / stride + 1, outW = (n + 2 * pad - kw) / stride + 1
        let cog = k.outPerGroup, cig = k.inPerGroup
        var m = Matrix(rows: k.outChannels * out * outW, cols: k.inChannels * n * n)
        for o in 0..<k.outChannels {
            let g = o / cog
            for i in 0..<cig {
                for y in 0..<out {
                    for x in 0..<outW {
                        for a in 0..<kh {
                            for b in 0..<kw {
                                let sy = y * stride + a - pad, sx = x * stride + b - pad
                                guard sy >= 0, sy < n, sx >= 0, sx < n else { continue }
                                let w = k.weights[((o * cig + i) * kh + a) * kw + b]
                                m[(o * out + y) * outW + x, ((g * cig + i) * n + sy) * n + sx] += w
                            }
                        }
                    }
                }
            }
        }
        return m
    }

    func randomKernel(out: Int, inPerGroup: Int, groups: Int, ks: [Int], seed: UInt64) -> ConvKernel {
        var rng = SplitMix64(seed: seed)
        let count = out * inPerGroup * ks.reduce(1, *)
        return ConvKernel(outChannels: out, inChannels: inPerGroup * groups, groups: groups, kernelSize: ks,
                          weights: (0..<count).map { _ in rng.nextSigned() })
    }

    func testUpperBoundDominatesExactCircularAndZeroPaddedNorms() throws {
        var kernels = try SpectraFixtures.manifest.convs.map(kernel)
        for s in 0..<6 {
            kernels.append(randomKernel(out: (1 + s % 2) * (1 + s % 3), inPerGroup: 2 + (s + 1) % 3, groups: 1 + s % 2,
                                        ks: s % 3 == 0 ? [3, 3] : (s % 3 == 1 ? [5, 3] : [1, 3]), seed: UInt64(100 + s)))
        }
        for k in kernels {
            let bound = try k.operatorNormUpperBound()
            // Every candidate computed: the bound is the smallest, and pruning gives the same.
            let every = try XCTUnwrap(k.operatorNormUpperBound(unlessAtLeast: .infinity, pruning: false))
            XCTAssertEqual(every.value, min(every.tapSum, every.reshapeBounds.values.min()!) * (1 + 1e-10),
                           accuracy: 1e-12 * every.value)
            XCTAssertEqual(every.reshapeBounds.count, 1 << k.kernelSize.count)
            XCTAssertEqual(bound.value.bitPattern, every.value.bitPattern, "\(k.kernelSize)")
            XCTAssertEqual(bound.method, every.method, "\(k.kernelSize)")
            let d = k.kernelSize.count
            for n in [k.kernelSize.max()!, 7, 9, 16] where n >= k.kernelSize.max()! {
                let exact = try k.exactCircularSpectrum(inputSize: [Int](repeating: n, count: d))[0]
                XCTAssertLessThanOrEqual(exact, bound.value, "circular n=\(n) \(k.kernelSize)")
            }
            if d == 2 {
                for (n, pad, stride) in [(6, 1, 1), (7, 0, 1), (8, 1, 2), (5, 2, 3)] {
                    let m = zeroPaddedConvMatrix(k, n: n, pad: pad, stride: stride)
                    let exact = try SVD.singularValues(m, method: .gesdd).values[0]
                    XCTAssertLessThanOrEqual(exact, bound.value, "zero padding n=\(n) p=\(pad) s=\(stride)")
                }
            }
        }
    }

    /// Visiting blocks by Frobenius norm and certifying the rest by Cholesky returns the same σ_max,
    /// to the bit, as computing every block — on random kernels, grouped ones, a kernel whose
    /// blocks all tie (a single centre tap: every K̂(f) has the same singular values), a
    /// rank-one one, and a zero one.
    func testPrunedCircularNormIsBitIdenticalToEveryBlock() throws {
        var kernels = try SpectraFixtures.manifest.convs.map(kernel)
        for s in 0..<8 {
            kernels.append(randomKernel(out: (3 + 2 * s) * (1 + s % 3), inPerGroup: 2 + 3 * s, groups: 1 + s % 3,
                                        ks: s % 2 == 0 ? [3, 3] : [3], seed: UInt64(700 + s)))
        }
        var rng = SplitMix64(seed: 77)
        var centre = [Double](repeating: 0, count: 6 * 5 * 9)
        for o in 0..<6 { for i in 0..<5 { centre[(o * 5 + i) * 9 + 4] = rng.nextSigned() } }
        kernels.append(ConvKernel(outChannels: 6, inChannels: 5, groups: 1, kernelSize: [3, 3], weights: centre))
        let u = (0..<6).map { _ in rng.nextSigned() }, v = (0..<(5 * 9)).map { _ in rng.nextSigned() }
        kernels.append(ConvKernel(outChannels: 6, inChannels: 5, groups: 1, kernelSize: [3, 3],
                                  weights: (0..<(6 * 45)).map { u[$0 / 45] * v[$0 % 45] }))
        kernels.append(ConvKernel(outChannels: 4, inChannels: 4, groups: 1, kernelSize: [3, 3], weights: [Double](repeating: 0, count: 144)))
        for k in kernels {
            for extra in [0, 1, 5] {
                let size = k.kernelSize.map { $0 + extra }
                let pruned = try k.circularSpectralNorm(inputSize: size)
                let every = try k.circularSpectralNorm(inputSize: size, pruning: false)
                XCTAssertEqual(pruned.bitPattern, every.bitPattern, "\(k.outChannels)×\(k.inChannels)/\(k.groups) \(size): \(pruned) vs \(every)")
            }
        }
    }

    /// Pruning never changes the answer: for cutoffs around the full bound (and the tight DFT
    /// norms the audit uses), the pruned call returns the full bound when it is below the cutoff
    /// and nil exactly when it is not.
    func testPrunedUpperBoundAgreesWithFullBound() throws {
        var kernels = try SpectraFixtures.manifest.convs.map(kernel)
        for s in 0..<6 {
            kernels.append(randomKernel(out: (4 + s) * (1 + s % 2), inPerGroup: 6 + s, groups: 1 + s % 2,
                                        ks: s % 2 == 0 ? [3, 3] : [3], seed: UInt64(300 + s)))
        }
        var pruned = 0
        for k in kernels {
            let full = try XCTUnwrap(k.operatorNormUpperBound(unlessAtLeast: .infinity, pruning: false)).value
            let dft = try k.circularSpectralNorm(inputSize: k.kernelSize.map { $0 + 6 })
            for cutoff in [full * 0.5, full * 0.999, full, full * 1.001, full * 2, dft] {
                let got = try k.operatorNormUpperBound(unlessAtLeast: cutoff)
                if full < cutoff {
                    XCTAssertEqual(got?.value ?? -1, full, accuracy: 1e-15 * full, "\(k.kernelSize) cutoff \(cutoff)")
                } else {
                    XCTAssertNil(got, "\(k.kernelSize) cutoff \(cutoff) ≤ bound \(full)")
                    pruned += 1
                }
            }
        }
        XCTAssertGreaterThan(pruned, 0)
    }

    /// The bound is not vacuous: for a 1×1 conv (a plain matrix) it is the matrix's exact norm.
    func testUpperBoundIsExactForPointwiseConvolution() throws {
        let k = randomKernel(out: 4, inPerGroup: 3, groups: 1, ks: [1, 1], seed: 5)
        let exact = try SVD.singularValues(Matrix(rows: 4, cols: 3, storage: k.weights), method: .gesdd).values[0]
        XCTAssertEqual(try k.operatorNormUpperBound().value, exact, accuracy: 1e-9 * exact)
    }

    // MARK: BatchNorm

    func testBatchNormScaleAndFoldMatchNumpy() throws {
        let bn = SpectraFixtures.manifest.batchnorm
        let s = try BatchNormFold.scale(gamma: bn.gamma, beta: bn.beta, mean: bn.mean, variance: bn.variance, epsilon: bn.epsilon)
        for (g, r) in zip(s, bn.scale) { XCTAssertEqual(g, r, accuracy: 1e-14 * abs(r)) }
        let a = Matrix(rows: bn.rows, cols: bn.cols, storage: SpectraFixtures.doubles(bn.file))
        let folded = try BatchNormFold.fold(a, scale: s)
        for (g, r) in zip(folded.storage, bn.folded) { XCTAssertEqual(g, r, accuracy: 1e-14 * max(1, abs(r))) }
        // = diag(s)·A as a product
        var d = Matrix(rows: s.count, cols: s.count)
        for i in 0..<s.count { d[i, i] = s[i] }
        let product = try d.multiplied(by: a)
        for (g, r) in zip(folded.storage, product.storage) { XCTAssertEqual(g, r, accuracy: 1e-15 * max(1, abs(r))) }
        XCTAssertThrowsError(try BatchNormFold.fold(a, scale: Array(s.dropLast())))
        XCTAssertThrowsError(try BatchNormFold.scale(gamma: [1], beta: [0], mean: [0], variance: [-1], epsilon: 1e-3)) {
            XCTAssertEqual($0 as? OperatorError, .invalidVariance(channel: 0))
        }
        XCTAssertThrowsError(try BatchNormFold.scale(gamma: [1, 2], beta: [0], mean: [0], variance: [1], epsilon: 1e-3))
        let bias = try BatchNormFold.foldedBias(bias: [1], scale: [2], beta: [0.5], mean: [0.25])
        XCTAssertEqual(bias, [2 * (1 - 0.25) + 0.5])
    }

    func testBatchNormFoldScalesEachOutputChannelOfAConv() throws {
        let k = randomKernel(out: 4, inPerGroup: 1, groups: 2, ks: [3, 3], seed: 9)
        let s = [2.0, -0.5, 3.0, 0.25]
        let f = try BatchNormFold.fold(k, scale: s)
        let before = k.reshapedMatrices(), after = f.reshapedMatrices()
        for g in 0..<2 {
            XCTAssertEqual(after[g], before[g].scalingRows(by: Array(s[(2 * g)..<(2 * g + 2)])))
        }
        XCTAssertThrowsError(try BatchNormFold.fold(k, scale: [1, 2]))
    }
}
