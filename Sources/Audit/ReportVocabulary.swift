import AuditReport
import LinearAlgebra

/// How a convolution's `operator_norm` was obtained (`LayerReport.operatorNormMethod`).
/// See `OperatorBuilder.ConvNorm` for the mathematics of each.
public enum OperatorNormMethod: String, Sendable, CaseIterable {
    /// Exact: circular padding, stride 1, at the layer's input size (Sedghi, Gupta, Long 2019).
    case fftExact = "fft_exact"
    /// Zero padding or stride > 1 at a known input size: the norm of the circulant on the
    /// (n + k − 1)-torus (zero padding) or the n-torus (strided circular), which bounds the layer's.
    case fftPaddedBound = "fft_padded_bound"
    /// Certified for every input size, padding and stride (`ConvKernel.operatorNormUpperBound`).
    case upperBound = "upper_bound"
}

/// Values of a layer row's `method` that come from the analysis itself rather than from a
/// singular-value routine (`SpectrumMethod`).
public enum AnalysisMethod: String, Sendable, CaseIterable {
    /// A BatchNorm scale `diag(s)`: the singular values are `|s_i|`, no decomposition.
    case diagonal
    /// `--svd fast`: σ_max by Lanczos, entropy-type metrics by stochastic Lanczos quadrature.
    case lanczosSLQ = "lanczos_slq"
}

/// Every enumerated string the audit can write into a report, derived from the code's own enums
/// (tests check that the man pages and the JSON Schema list exactly these).
public enum ReportVocabulary {
    /// `layers[].method`.
    public static let layerMethods: [String] = SpectrumMethod.allCases.map(\.rawValue) + AnalysisMethod.allCases.map(\.rawValue)
    /// `layers[].operator_norm_method`.
    public static let operatorNormMethods: [String] = OperatorNormMethod.allCases.map(\.rawValue)
    /// `layers[].status`.
    public static let layerStatuses: [String] = LayerStatus.allCases.map(\.rawValue)
}
