import AuditReport
import LinearAlgebra
import SpectralModel

// The spectrum of one operator for `LayerAnalysis`: the in-memory paths (Gram / gesdd / top-k /
// fast, per block), the certificate of an incomplete spectrum, and the streamed path for large
// 2-D tensors read straight from the file. Split from LayerAnalysis.swift by concern.
extension LayerAnalysis {
    /// Singular values and SPEC §2 metrics of a block-diagonal operator given by its `blocks`
    /// (one block for dense layers; one per group for grouped convolutions), written into `row`.
    func spectrum(blocks: [Matrix], rows: Int, cols: Int, row: inout LayerReport) throws -> SpectrumMetrics {
        try spectrumWithCertificate(blocks: blocks, rows: rows, cols: cols, row: &row).metrics
    }

    /// As `spectrum`, plus the Krylov residual bound on σ_1 when the values are approximate.
    func spectrumWithCertificate(blocks: [Matrix], rows: Int, cols: Int, row: inout LayerReport) throws
        -> (metrics: SpectrumMetrics, certificate: Double?) {
        var results: [SingularValueResult] = []
        var estimate: FastSpectrum.Estimate?
        for a in blocks {
            switch configuration.svd {
            case .gram: results.append(try SVD.singularValues(a, method: .gramSyevd, sharing: sharing))
            case .exact: results.append(try SVD.singularValues(a, method: .gesdd))
            case .topK(let k): results.append(try SVD.topK(a, k: k))
            case .fast:
                if blocks.count == 1, !FastSpectrum.prefersExact(rows: a.rows, cols: a.cols) {
                    let (r, e) = try FastSpectrum.analyse(a, seed: configuration.seed)
                    results.append(r)
                    estimate = e
                } else {
                    results.append(try SVD.singularValues(a, method: .gramSyevd))
                }
            }
        }
        let frob: () -> Double = { blocks.reduce(0) { acc, a in acc + a.storage.reduce(0) { $0 + $1 * $1 } }.squareRoot() }
        let m = finishSpectrum(results, rows: rows, cols: cols, frobenius: estimate?.frobenius ?? frob(),
                               estimate: estimate, row: &row)
        let certificate = results.filter { !$0.isComplete }.compactMap(\.certificate).max()
        return (m, certificate)
    }

    /// SPEC §2 metrics from the singular values of the blocks, written into `row`.
    func finishSpectrum(_ results: [SingularValueResult], rows: Int, cols: Int, frobenius: @autoclosure () -> Double,
                                estimate: FastSpectrum.Estimate?, row: inout LayerReport) -> SpectrumMetrics {
        row.shape = [rows, cols]
        var values: [Double] = []
        var complete = true
        var method: SpectrumMethod = .gramSyevd
        var tolerance: Double?
        for result in results {
            values += result.values
            complete = complete && result.isComplete
            // Report the least accurate method used across blocks.
            if result.method != .gramSyevd { method = result.method }
            if let t = result.tolerance { tolerance = max(tolerance ?? 0, t) }
        }
        values.sort(by: >)
        row.method = method.rawValue
        row.methodTolerance = tolerance
        let frob = complete ? nil : frobenius()
        var m = SpectrumMetrics.compute(singularValues: values, rows: rows, cols: cols, isComplete: complete, frobenius: frob)
        if let e = estimate {
            m.apply(e, rows: rows, cols: cols)
            row.method = AnalysisMethod.lanczosSLQ.rawValue
            row.estimateErrors = ["spectral_entropy": e.entropyError, "erank_rv": e.erankRVError, "nuclear": e.nuclearError,
                                  "probes": Double(e.probes), "lanczos_steps": Double(e.steps),
                                  "spectral_entropy_quadrature": e.entropyQuadrature]
        }
        row.metrics = m
        if configuration.heavyTail, complete,
           let ht = HeavyTailMetrics.compute(singularValues: values, rows: rows, cols: cols) {
            row.heavyTail = HeavyTailV1(wwAlpha: ht.alpha, wwAlphaWeighted: ht.alphaWeighted, wwXmin: ht.xmin,
                                        wwKSDistance: ht.ksDistance, mpBulkEdge: ht.mpBulkEdge, mpSpikes: ht.mpSpikes)
        }
        if configuration.includeSpectra { row.singularValues = values }
        return m
    }

    /// Large 2-D safetensors tensors through `StreamedSpectrum` (no whole Float64 copy for
    /// `--svd gram`; SLQ for `--svd fast`). nil: not handled, take the in-memory path. `.some(nil)`:
    /// the row was marked non-finite. Otherwise the metrics, already written into `row`.
    func streamed(_ ref: TensorRef, orientation: String, node i: Int, row: inout LayerReport) throws
        -> (metrics: SpectrumMetrics, certificate: Double?)?? {
        guard let streaming, ref.shape.count == 2,
              let outcome = try streaming.analyse(tensor: ref.name, svd: configuration.svd, seed: configuration.seed, sharing: sharing) else { return nil }
        switch outcome {
        case .nonFinite(let count, let first):
            row = nonFiniteRow(row, i, ref.name, (count, first))
            return .some(nil)
        case .values(let result, let frobenius, let estimate):
            row.orientation = orientation
            let (m, n) = ref.orientation == .outIn ? (ref.shape[0], ref.shape[1]) : (ref.shape[1], ref.shape[0])
            let metrics = finishSpectrum([result], rows: m, cols: n, frobenius: frobenius ?? .nan, estimate: estimate, row: &row)
            return (metrics, result.isComplete ? nil : result.certificate)
        }
    }
}
