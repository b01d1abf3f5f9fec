/// Dequantization of ggml's block-quantized types, as ggml defines them (`dequantize_row_*` in
/// `ggml/src/ggml-quants.c`; gguf-py's `gguf/quants.py` states the same arithmetic in numpy).
/// Written from those definitions, not copied.
///
/// Every scale is an IEEE half (`d`, `dmin`, `m`; Q8_K: a float32) and every quant a small
/// integer, so each product `d · sc · q` is exact in Float64 (at most 11 + 8 + 6 significant
/// bits), and `d · q + m` / `d·sc·q − dmin·mn` round once, at 2⁻⁵³. ggml computes the same
/// expressions in Float32: its values and ours differ by at most a few Float32 ulps (relative
/// 2⁻²³ per rounding; a difference of two products within a factor 2 of each other is exact in
/// both, by Sterbenz's lemma). Tests compare with gguf-py to 1e-6 relative per element.
///
/// Block layouts (byte offsets; `h(o)` = half at o, `qs`, `qh`, `scales` byte arrays; within a
/// block, element k):
/// ```
/// Q4_0  18 B / 32:  h(0)=d, qs[16]@2          x[j]=d·((qs[j]&15)−8), x[j+16]=d·((qs[j]>>4)−8)
/// Q4_1  20 B / 32:  d, m@2, qs[16]@4          x[j]=d·(qs[j]&15)+m,   x[j+16]=d·(qs[j]>>4)+m
/// Q5_0  22 B / 32:  d, qh u32@2, qs[16]@6     q = nibble | bit k of qh << 4;  x = d·(q−16)
/// Q5_1  24 B / 32:  d, m@2, qh@4, qs@8        x = d·q + m
/// Q8_0  34 B / 32:  d, qs int8[32]@2          x = d·qs[k]
/// Q8_K 292 B / 256: f32 d, qs int8[256]@4, bsums i16[16]@260 (ignored)   x = d·qs[k]
/// Q2_K  84 B / 256: scales[16]@0, qs[64]@16, d@80, dmin@82
///       q = (qs[32·(k/128) + k%32] >> 2·((k%128)/32)) & 3,  s = scales[k/16]
///       x = d·(s&15)·q − dmin·(s>>4)
/// Q3_K 110 B / 256: hmask[32]@0, qs[64]@32, scales[12]@96, d@108
///       6-bit scale i: (i<8 ? sc[i]&15 : sc[i−8]>>4) | ((sc[8+i%4] >> 2·(i/4)) & 3) << 4, minus 32
///       q = (2-bit as Q2_K) − (bit k/32 of hmask[k%32] ? 0 : 4);   x = d·scale(k/16)·q
/// Q4_K 144 B / 256: d@0, dmin@2, scales[12]@4, qs[128]@16; sub-block g = k/32 (32 elements)
///       g<4: sc=b[g]&63, mn=b[g+4]&63;  g≥4: sc=(b[g+4]&15)|(b[g−4]>>6)<<4, mn=(b[g+4]>>4)|(b[g]>>6)<<4
///       q = (qs[32·(g/2) + k%32] >> 4·(g%2)) & 15;   x = d·sc·q − dmin·mn
/// Q5_K 176 B / 256: as Q4_K with qh[32]@16, qs[128]@48;  q |= ((qh[k%32] >> g) & 1) << 4
/// Q6_K 210 B / 256: ql[128]@0, qh[64]@128, scales int8[16]@192, d@208;  h = k/128, r = k%128
///       q = ((ql[64h + r%64] >> 4·(r/64)) & 15 | ((qh[32h + r%32] >> 2·(r/32)) & 3) << 4) − 32
///       x = d·scales[k/16]·q
/// ```
enum GGUFDequantize {
    /// Decodes blocks `firstBlock ..< firstBlock + out.count / type.blockElements` of `raw` (the
    /// tensor's stored bytes) into `out`. The caller has checked sizes; `type.dequantized`.
    static func blocks(_ type: GGUFFormat.TensorType, _ raw: UnsafeRawBufferPointer, firstBlock: Int,
                       into out: UnsafeMutableBufferPointer<Double>) {
        let n = type.blockElements
        let count = out.count / n
        guard count > 0, let base = raw.baseAddress, let o = out.baseAddress else { return }
        let decode: (UnsafeRawPointer, UnsafeMutablePointer<Double>) -> Void
        switch type.name {
        case "Q4_0": decode = q4_0
        case "Q4_1": decode = q4_1
        case "Q5_0": decode = q5_0
        case "Q5_1": decode = q5_1
        case "Q8_0": decode = q8_0
        case "Q8_K": decode = q8_K
        case "Q2_K": decode = q2_K
        case "Q3_K": decode = q3_K
        case "Q4_K": decode = q4_K
        case "Q5_K": decode = q5_K
        case "Q6_K": decode = q6_K
        default: preconditionFailure("GGUFDequantize: \(type.name) is not a dequantized type")
        }
        for b in 0..<count {
            decode(base + (firstBlock + b) * type.blockBytes, o + b * n)
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Double {
        Double(ElementDecoding.halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> Int {
        Int(p.load(fromByteOffset: offset, as: UInt8.self))
    }

    @inline(__always) static func int8(_ p: UnsafeRawPointer, _ offset: Int) -> Int {
        Int(p.load(fromByteOffset: offset, as: Int8.self))
    }

    static func q4_0(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0)
        for j in 0..<16 {
            let q = byte(p, 2 + j)
            x[j] = d * Double((q & 15) - 8)
            x[j + 16] = d * Double((q >> 4) - 8)
        }
    }

    static func q4_1(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0), m = half(p, 2)
        for j in 0..<16 {
            let q = byte(p, 4 + j)
            x[j] = d * Double(q & 15) + m
            x[j + 16] = d * Double(q >> 4) + m
        }
    }

    static func q5_0(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0)
        let qh = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)))
        for j in 0..<16 {
            let q = byte(p, 6 + j)
            x[j] = d * Double(((q & 15) | ((qh >> j) & 1) << 4) - 16)
            x[j + 16] = d * Double(((q >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16)
        }
    }

    static func q5_1(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0), m = half(p, 2)
        let qh = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        for j in 0..<16 {
            let q = byte(p, 8 + j)
            x[j] = d * Double((q & 15) | ((qh >> j) & 1) << 4) + m
            x[j + 16] = d * Double((q >> 4) | ((qh >> (j + 16)) & 1) << 4) + m
        }
    }

    static func q8_0(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0)
        for j in 0..<32 { x[j] = d * Double(int8(p, 2 + j)) }
    }

    static func q8_K(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self))))
        for j in 0..<256 { x[j] = d * Double(int8(p, 4 + j)) }
    }

    static func q2_K(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 80), dmin = half(p, 82)
        for k in 0..<256 {
            let q = (byte(p, 16 + 32 * (k / 128) + k % 32) >> (2 * ((k % 128) / 32))) & 3
            let s = byte(p, k / 16)
            x[k] = d * Double(s & 15) * Double(q) - dmin * Double(s >> 4)
        }
    }

    static func q3_K(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 108)
        for i in 0..<16 {
            let low = i < 8 ? byte(p, 96 + i) & 15 : byte(p, 96 + i - 8) >> 4
            let high = (byte(p, 96 + 8 + i % 4) >> (2 * (i / 4))) & 3
            let scale = d * Double((low | high << 4) - 32)
            for k in (16 * i)..<(16 * i + 16) {
                let q = (byte(p, 32 + 32 * (k / 128) + k % 32) >> (2 * ((k % 128) / 32))) & 3
                let highSet = (byte(p, k % 32) >> (k / 32)) & 1 == 1
                x[k] = scale * Double(q - (highSet ? 0 : 4))
            }
        }
    }

    /// The 6-bit scale and min of sub-block `g` of Q4_K/Q5_K (`get_scale_min_k4`).
    @inline(__always) static func scaleMin(_ p: UnsafeRawPointer, _ g: Int) -> (Int, Int) {
        let b = { (i: Int) in byte(p, 4 + i) }
        if g < 4 { return (b(g) & 63, b(g + 4) & 63) }
        return ((b(g + 4) & 15) | (b(g - 4) >> 6) << 4, (b(g + 4) >> 4) | (b(g) >> 6) << 4)
    }

    static func q4_K(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0), dmin = half(p, 2)
        for g in 0..<8 {
            let (sc, mn) = scaleMin(p, g)
            let scale = d * Double(sc), offset = dmin * Double(mn)
            for l in 0..<32 {
                let q = (byte(p, 16 + 32 * (g / 2) + l) >> (4 * (g % 2))) & 15
                x[32 * g + l] = scale * Double(q) - offset
            }
        }
    }

    static func q5_K(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 0), dmin = half(p, 2)
        for g in 0..<8 {
            let (sc, mn) = scaleMin(p, g)
            let scale = d * Double(sc), offset = dmin * Double(mn)
            for l in 0..<32 {
                let low = (byte(p, 48 + 32 * (g / 2) + l) >> (4 * (g % 2))) & 15
                let high = (byte(p, 16 + l) >> g) & 1
                x[32 * g + l] = scale * Double(low | high << 4) - offset
            }
        }
    }

    static func q6_K(_ p: UnsafeRawPointer, _ x: UnsafeMutablePointer<Double>) {
        let d = half(p, 208)
        for k in 0..<256 {
            let h = k / 128, r = k % 128
            let low = (byte(p, 64 * h + r % 64) >> (4 * (r / 64))) & 15
            let high = (byte(p, 128 + 32 * h + r % 32) >> (2 * (r / 32))) & 3
            x[k] = d * Double(int8(p, 192 + k / 16)) * Double((low | high << 4) - 32)
        }
    }
}
