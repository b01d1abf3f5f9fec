/// The inverse of `ElementDecoding` for floating-point dtypes: Float64 values → stored element
/// bytes (f16, bf16, f32, f64; either byte order; C or Fortran memory order). Used by writers that
/// put modified weights back into a file in its own dtype (`spectral-audit repair`).
///
/// Rounding: one IEEE 754 round-to-nearest-even step from the Float64 value to the target format,
/// subnormals included (never through an intermediate float, so no double rounding: a bf16 value
/// is not first rounded to f32). A value that rounds to ±infinity (|x| beyond the format's largest
/// finite value) is refused: a weight writer must not turn a finite weight into an infinite one.
public enum ElementEncoding {
    public struct Overflow: Error, CustomStringConvertible {
        public var value: Double
        public var dtype: DType
        public var description: String { "\(value) does not fit in \(dtype.rawValue) (rounds to infinity)" }
    }

    /// Precision `p` (significand bits, implicit bit included), smallest normal exponent and largest
    /// finite value of the floating formats.
    private static func format(_ dtype: DType) -> (p: Int, emin: Int, max: Double)? {
        switch dtype {
        case .float16: return (11, -14, 65504)
        case .bfloat16: return (8, -126, Double(Float(bitPattern: 0x7F7F_0000)))
        case .float32: return (24, -126, Double(Float.greatestFiniteMagnitude))
        case .float64: return (53, -1022, Double.greatestFiniteMagnitude)
        default: return nil
        }
    }

    /// `x` rounded to the nearest value of `dtype` (ties to even), as a Double (exact).
    public static func round(_ x: Double, to dtype: DType) throws -> Double {
        guard let f = format(dtype) else { return x }
        if dtype == .float64 || x == 0 || !x.isFinite { return x }
        let e = Swift.max(Int(x.exponent), f.emin)
        let q = e - (f.p - 1)               // the quantum 2^q of x's binade (or of the subnormals)
        let scaled = Double(sign: .plus, exponent: -q, significand: x.magnitude)
        let r = Double(sign: x.sign, exponent: q, significand: scaled.rounded(.toNearestOrEven))
        guard r.magnitude <= f.max else { throw Overflow(value: x, dtype: dtype) }
        return r
    }

    /// The bit pattern of a value already representable in binary16.
    private static func halfBits(_ r: Double) -> UInt16 {
        let sign: UInt16 = r.sign == .minus ? 0x8000 : 0
        let m = r.magnitude
        if m == 0 { return sign }
        if m < 0x1p-14 { return sign | UInt16(m * 0x1p24) }     // subnormal: m = k · 2^-24
        let e = Int(m.exponent)
        let frac = UInt16((m / Double(sign: .plus, exponent: e, significand: 1) - 1) * 1024)
        return sign | UInt16(e + 15) << 10 | frac
    }

    /// Encodes C-order `values` (row-major over `shape`) as `dtype` elements in `byteOrder`, in
    /// Fortran (column-major) order when `fortranOrder`. Non-floating dtypes are refused.
    public static func encode(_ values: [Double], shape: [Int], dtype: DType, byteOrder: ByteOrder,
                              fortranOrder: Bool = false) throws -> [UInt8] {
        guard dtype.isFloatingPoint else {
            throw WeightFileError(.unsupported, path: "", place: "encoding", detail: "cannot encode \(dtype.rawValue) weights")
        }
        let ordered = fortranOrder && shape.count > 1 ? cToFortran(values, shape: shape) : values
        let swap = byteOrder != .notApplicable && byteOrder != ByteOrder.native
        var out = [UInt8]()
        out.reserveCapacity(ordered.count * dtype.byteSize)
        func append<T: FixedWidthInteger>(_ v: T) {
            let w = swap ? v.byteSwapped : v
            withUnsafeBytes(of: w) { out.append(contentsOf: $0) }
        }
        for x in ordered {
            let r = try round(x, to: dtype)
            switch dtype {
            case .float64: append(r.bitPattern)
            case .float32: append(Float(r).bitPattern)
            case .bfloat16: append(UInt16(truncatingIfNeeded: Float(r).bitPattern >> 16))
            case .float16: append(halfBits(r))
            default: break
            }
        }
        return out
    }

    /// Row-major → column-major.
    public static func cToFortran(_ x: [Double], shape: [Int]) -> [Double] {
        let n = x.count
        guard shape.count > 1, n > 0 else { return x }
        var out = [Double](repeating: 0, count: n)
        var idx = [Int](repeating: 0, count: shape.count)
        for c in 0..<n {
            // column-major offset of the multi-index idx
            var f = 0
            for d in stride(from: shape.count - 1, through: 0, by: -1) { f = f * shape[d] + idx[d] }
            out[f] = x[c]
            var d = shape.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
        }
        return out
    }
}
