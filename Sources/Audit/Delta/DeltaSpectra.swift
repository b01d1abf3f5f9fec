import AuditReport
import LinearAlgebra
import SpectralModel
import WeightFiles

/// The per-tensor numbers of a delta audit (SPEC §7 "Deltas"; spectral-audit-metrics(7),
/// DELTAS). All in float64 whatever the stored dtypes; singular values by `dgesdd` (backward
/// stable, `|δσ_i| ≤ c·p·ε·σ_1`): a change is often tiny against the weights, so the Gram path's
/// squaring is not used here.
enum DeltaSpectra {
    /// The canonical `[out, in]` operator of a stored tensor (SPEC §1), and the rule used:
    /// dense `out_in` / `in_out→transpose`; conv kernels (`conv_hwio`, `conv_oihw`,
    /// `depthwise_hwim`) their reshaped `c_out × (c_in·∏k)` view; other 2-D tensors as stored
    /// (`as_stored`), higher ranks `[shape[0], rest]`. Nil for 0-/1-D tensors (vectors).
    static func operatorMatrix(_ data: [Double], _ info: TensorInfo) throws -> (matrix: Matrix, rule: String)? {
        let shape = info.shape
        guard shape.count >= 2 else { return nil }
        switch info.orientation {
        case .outIn where shape.count == 2:
            return (try DenseOperator.matrix(data: data, shape: shape, orientation: .outIn), "out_in")
        case .inOut where shape.count == 2:
            return (try DenseOperator.matrix(data: data, shape: shape, orientation: .inOut), "in_out→transpose")
        case .convHWIO, .convOIHW, .depthwiseHWIM:
            let k = try ConvKernel(data: data, shape: shape, orientation: info.orientation, groups: 1)
            guard let m = k.reshapedMatrices().first else { return nil }
            return (m, info.orientation.rawValue + "→reshape")
        default:
            let rest = shape.dropFirst().reduce(1, *)
            return (Matrix(rows: shape[0], cols: rest, storage: data), shape.count == 2 ? "as_stored" : "as_stored→reshape")
        }
    }

    /// k of `delta_top_subspace_share`: `min(q, ⌈stable_rank(W_base)⌉)` (at least 1), the number
    /// of directions that carry W_base's energy (`‖W_base‖_F² / σ_1²`, SPEC §2). The `1e-9`
    /// keeps an exactly integral stable rank (e.g. an orthogonal matrix) from rounding up.
    static func topK(baseMetrics m: SpectrumMetrics, q: Int) -> Int {
        let sr = m.stableRank ?? 1
        return Swift.max(1, Swift.min(q, Int((sr - 1e-9).rounded(.up))))
    }

    static let topKRule = "k = min(q, ceil(stable_rank(W_base))); share = ‖U_kᵀ ΔW V_k‖_F² / ‖ΔW‖_F², isotropic expectation k²/(m n)"

    /// The comparison of a MODEL operator `w` with its BASE operator `wb` (same shape). `values`
    /// of ΔW may be given (LoRA: from the thin factors) with `projected`, the function returning
    /// `‖U_kᵀ ΔW V_k‖_F²` for W_base's top-k singular vectors; otherwise ΔW = w − wb is formed.
    static func compare(model w: Matrix, base wb: Matrix, into e: inout DeltaEntry, includeSpectra: Bool,
                        deltaValues: [Double]? = nil,
                        projected: ((_ uk: Matrix, _ vk: Matrix) throws -> Double)? = nil) throws {
        let (m, n) = (wb.rows, wb.cols)
        let q = Swift.min(m, n)
        // An unchanged tensor is decomposed once (its changes are then exactly 0); a changed one
        // needs W_base's singular vectors (thin dgesdd, whose values serve for W_base) and W's values.
        let unchanged = w.storage == wb.storage
        let svdB = unchanged ? nil : try SVD.thin(wb)
        let mB = SpectrumMetrics.compute(singularValues: try svdB?.s ?? SVD.singularValues(wb, method: .gesdd).values,
                                         rows: m, cols: n)
        let mW = unchanged ? mB : SpectrumMetrics.compute(singularValues: try SVD.singularValues(w, method: .gesdd).values, rows: m, cols: n)
        let d: Matrix? = deltaValues == nil ? Matrix(rows: m, cols: n, storage: zip(w.storage, wb.storage).map { $0 - $1 }) : nil
        let sD = try deltaValues ?? SVD.singularValues(d!, method: .gesdd).values
        let mD = SpectrumMetrics.compute(singularValues: sD, rows: m, cols: n)
        e.metrics = mD
        if includeSpectra { e.singularValues = sD }
        e.relativeSpectralNorm = mB.spectralNorm > 0 ? mD.spectralNorm / mB.spectralNorm : nil
        if let fd = mD.frobenius, let fb = mB.frobenius, fb > 0 { e.relativeFrobenius = fd / fb }
        e.spectralNormChange = mW.spectralNorm - mB.spectralNorm
        e.relativeSpectralNormChange = mB.spectralNorm > 0 ? (mW.spectralNorm - mB.spectralNorm) / mB.spectralNorm : nil
        if let hw = mW.spectralEntropy, let hb = mB.spectralEntropy { e.entropyChange = hw - hb }
        guard q > 0, mB.spectralNorm > 0 else { return }
        let k = topK(baseMetrics: mB, q: q)
        e.topK = k
        e.isotropicShare = Double(k * k) / Double(m * n)
        let total = (mD.frobenius ?? 0) * (mD.frobenius ?? 0)
        guard total > 0 else { return }
        guard let svdB else { return }
        let uk = Matrix(rows: m, cols: k, storage: (0..<m).flatMap { i in (0..<k).map { svdB.u[i, $0] } })
        let vk = Matrix(rows: n, cols: k, storage: (0..<n).flatMap { j in (0..<k).map { svdB.vt[$0, j] } })
        let inside = try projected?(uk, vk) ?? LowRank.projectedFrobeniusSquared(left: uk, d!, right: vk)
        e.topSubspaceShare = Swift.min(1, inside / total)
    }

    /// Vectors (biases, BatchNorm statistics): `‖Δv‖₂ / ‖v_base‖₂` only.
    static func compareVectors(model v: [Double], base vb: [Double], into e: inout DeltaEntry) {
        var dd = 0.0, bb = 0.0
        for (x, y) in zip(v, vb) { dd += (x - y) * (x - y); bb += y * y }
        e.relativeSpectralNorm = bb > 0 ? (dd / bb).squareRoot() : nil
        e.relativeFrobenius = e.relativeSpectralNorm
    }
}
