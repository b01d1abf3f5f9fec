import WeightFiles

/// Bits per stored element of a dtype, to tell a lower-precision copy from its base (the
/// `quantization` ranking of a delta audit). Floating-point dtypes: 8 × their byte size
/// (f16 and bf16 both 16: neither ranks against the other). Block-quantized GGUF types, once a
/// GGUF reader serves them under their ggml names (`q8_0`, `q4_0`, `q4_k`, …), count with their
/// block overhead (ggml's `block_size`/`type_size`: Q8_0 34 bytes per 32 values = 8.5 bits,
/// Q4_0 18/32 = 4.5, …) — the GGUF reader dequantizes, so the damage is the same comparison.
/// nil: not a numeric precision (integers, booleans, unknown names).
enum DeltaPrecision {
    static let ggml: [String: Double] = [
        "q8_0": 8.5, "q8_1": 9, "q5_0": 5.5, "q5_1": 6, "q4_0": 4.5, "q4_1": 5,
        "q2_k": 2.625, "q3_k": 3.4375, "q4_k": 4.5, "q5_k": 5.5, "q6_k": 6.5625, "q8_k": 9.125,
        "iq4_nl": 4.5, "iq4_xs": 4.25, "tq1_0": 1.6875, "tq2_0": 2.0625,
    ]

    /// How a tensor is stored: its block quantization (`q4_0`, `q6_k`, … as the GGUF reader
    /// names it; the values it serves are dequantized) or else its dtype.
    static func storedType(_ info: TensorInfo) -> String {
        info.quantization.map { $0.scheme.lowercased() } ?? info.dtype.rawValue
    }

    static func bits(_ dtype: String?) -> Double? {
        guard let dtype else { return nil }
        if let d = DType(rawValue: dtype) { return d.isFloatingPoint ? Double(d.byteSize * 8) : nil }
        return ggml[dtype.lowercased()]
    }

    /// MODEL's tensor is stored with fewer bits per element than BASE's.
    static func isLower(_ dtype: String?, than base: String?) -> Bool {
        guard let a = bits(dtype), let b = bits(base) else { return false }
        return a < b
    }
}
