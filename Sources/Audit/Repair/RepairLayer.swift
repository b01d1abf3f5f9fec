import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// One operator layer of the bound as the repair sees it: the matrix (or conv kernel) whose
/// factor enters the product — folded with its BatchNorm when the audit folds it — and how a new
/// version of it goes back into the stored kernel.
struct RepairLayer {
    let node: Int
    let name: String
    /// The stored kernel tensor.
    let kernel: TensorRef
    let info: TensorInfo
    /// The stored values (C order, file layout).
    let stored: [Double]
    /// BatchNorm scale `s` when folded (product uses `diag(s)·A`).
    let scale: [Double]?
    let foldedBatchNorm: String?
    /// Dense: the operator `[out, in]` (folded). Conv: nil.
    let matrix: Matrix?
    /// Conv: the canonical kernel (folded) and its spec and input spatial size.
    let conv: ConvKernel?
    let convSpec: ConvSpec?
    let spatial: [Int]?
    /// Thin SVDs: one (dense) or one per group (conv's reshaped matrices).
    let svds: [(u: Matrix, s: [Double], vt: Matrix)]
    /// All singular values of the clipped matrix, descending.
    let singularValues: [Double]
    /// The factor the audit uses in the product for this layer.
    let factor: Double

    var sigma1: Double { singularValues.first ?? 0 }
    /// Bound factor per unit of the matrix's σ_1.
    var ratio: Double { sigma1 > 0 ? factor / sigma1 : 1 }
    var isConv: Bool { conv != nil }

    /// The operator's entries (folded), for the Frobenius change.
    var operatorEntries: [Double] { matrix?.storage ?? conv!.weights }

    /// A new stored kernel for a new operator (folded entries as `operatorEntries` orders them):
    /// unfolds (`A = diag(s)^{-1}·M`, channels with `s_o = 0` keep their stored values, which the
    /// product never sees) and returns to the file's layout.
    func storedValues(forOperator entries: [Double]) throws -> [Double] {
        if let m = matrix {
            var a = Matrix(rows: m.rows, cols: m.cols, storage: entries)
            let original = try OperatorBuilder.dense(data: stored, ref: kernel)
            if let s = scale {
                for r in 0..<a.rows {
                    for c in 0..<a.cols {
                        a.storage[r * a.cols + c] = s[r] != 0 ? a.storage[r * a.cols + c] / s[r] : original[r, c]
                    }
                }
            }
            switch kernel.orientation {
            case .outIn: return a.storage
            default: return a.transposed().storage
            }
        }
        let k = conv!
        var w = entries
        if let s = scale {
            let original = try OperatorBuilder.conv(data: stored, spec: convSpec!)
            let per = w.count / Swift.max(1, k.outChannels)
            for o in 0..<k.outChannels {
                for j in 0..<per { w[o * per + j] = s[o] != 0 ? w[o * per + j] / s[o] : original.weights[o * per + j] }
            }
        }
        return ConvLayout.toFile(canonical: w, kernel: k, orientation: kernel.orientation, shape: kernel.shape)
    }

    /// The certified operator norm the audit reports for conv weights `w` (canonical, folded).
    func convNorm(_ w: [Double]) throws -> (norm: Double, method: String) {
        let k = conv!
        let kk = ConvKernel(outChannels: k.outChannels, inChannels: k.inChannels, groups: k.groups,
                            kernelSize: k.kernelSize, weights: w)
        let n = try OperatorBuilder.convOperatorNorm(kk, spec: convSpec!, spatial: spatial, includeSpectrum: false)
        return (n.norm, n.method)
    }

    /// The reshaped matrices clipped at `t` (one level for every group), canonical weights.
    func convClipped(at t: Double) -> [Double] {
        let k = conv!
        let blocks = k.reshapedMatrices()
        var w: [Double] = []
        w.reserveCapacity(k.weights.count)
        for (g, b) in blocks.enumerated() {
            let (u, s, vt) = svds[g]
            w += SVD.clipped(b, u: u, s: s, vt: vt, at: t).storage
        }
        return w
    }
}

/// Canonical `[out, in/groups, k…]` conv weights back to the file's layout (the inverse of
/// `ConvKernel.init(data:shape:orientation:groups:)`).
enum ConvLayout {
    static func toFile(canonical w: [Double], kernel k: ConvKernel, orientation: OrientationRule, shape: [Int]) -> [Double] {
        let taps = k.tapCount
        switch orientation {
        case .convHWIO:
            let d = shape.count - 2, cig = shape[d], co = shape[d + 1]
            var out = [Double](repeating: 0, count: w.count)
            for t in 0..<taps { for i in 0..<cig { for o in 0..<co { out[(t * cig + i) * co + o] = w[(o * cig + i) * taps + t] } } }
            return out
        case .depthwiseHWIM:
            let d = shape.count - 2, cin = shape[d], mult = shape[d + 1]
            var out = [Double](repeating: 0, count: w.count)
            for t in 0..<taps { for c in 0..<cin { for j in 0..<mult { out[(t * cin + c) * mult + j] = w[(c * mult + j) * taps + t] } } }
            return out
        default:
            return w
        }
    }
}
