/// The GGUF format (versions 2 and 3), written down once (after ggml's `docs/gguf.md`,
/// `ggml/src/gguf.cpp` and gguf-py's `gguf/gguf_reader.py`, which the reader follows):
///
/// ```
/// offset 0   4 bytes  magic "GGUF" (0x47 0x47 0x55 0x46)
///            u32      version: 2 or 3 (1 used 32-bit counts and is refused)
///            u64      tensor_count
///            u64      metadata_kv_count
///            metadata_kv_count × { string key; u32 value_type; value }
///            tensor_count × { string name; u32 n_dims (≤ 4); u64 ne[n_dims] (fastest first);
///                             u32 ggml_type; u64 offset (relative to the data section) }
///            padding (zeros) up to a multiple of ALIGNMENT
///            the data section: each tensor's bytes at its offset, a multiple of ALIGNMENT
/// string   = u64 length; that many UTF-8 bytes, no terminator
/// value    = u8 i8 u16 i16 u32 i32 f32 | bool (u8, 0 or 1) | string | u64 i64 f64
///          | array = u32 element_type; u64 count; count values of that type (arrays of arrays
///            and of strings allowed)
/// ALIGNMENT = metadata `general.alignment` (u32, a power of two) or 32 when absent
/// ```
/// Everything is little-endian (big-endian GGUF files exist, unmarked: they are recognised by
/// their byte-swapped version and refused as unsupported).
///
/// Shapes: `ne[0]` is the fastest-varying (contiguous) dimension. The numpy-order shape the
/// reader reports is `ne` reversed: a ggml matmul weight `ne = [n_in, n_out]` becomes
/// `[n_out, n_in]` (`Orientation.outIn`, y = W x).
///
/// A tensor of ggml type `t` with `ne` elements in row 0 occupies
/// `(Π ne) / blockElements(t) · blockBytes(t)` bytes, `ne[0]` being a multiple of the block size;
/// blocks never straddle rows. Quantized types are decoded by `GGUFDequantize`.
public enum GGUFFormat {
    public static let magic: [UInt8] = [0x47, 0x47, 0x55, 0x46]  // "GGUF"
    public static let supportedVersions: ClosedRange<UInt32> = 2...3
    public static let defaultAlignment = 32
    public static let alignmentKey = "general.alignment"
    public static let architectureKey = "general.architecture"
    /// ggml's GGML_MAX_DIMS.
    public static let maxDimensions = 4

    /// Metadata value types (`gguf_type`).
    public enum ValueType: UInt32, Sendable, Hashable, Codable, CaseIterable {
        case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
        case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

        /// Bytes of a fixed-size value; nil for strings and arrays.
        public var fixedSize: Int? {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16: return 2
            case .uint32, .int32, .float32: return 4
            case .uint64, .int64, .float64: return 8
            case .string, .array: return nil
            }
        }

        /// The least number of bytes one value can take (a string: its 8-byte length; an
        /// array: element type and count). Bounds declared counts by the bytes left.
        public var minimumSize: Int { fixedSize ?? (self == .string ? 8 : 12) }

        public var name: String {
            switch self {
            case .uint8: return "u8"
            case .int8: return "i8"
            case .uint16: return "u16"
            case .int16: return "i16"
            case .uint32: return "u32"
            case .int32: return "i32"
            case .float32: return "f32"
            case .bool: return "bool"
            case .string: return "string"
            case .array: return "array"
            case .uint64: return "u64"
            case .int64: return "i64"
            case .float64: return "f64"
            }
        }
    }

    /// A ggml tensor type (`ggml_type`): its name, block size (elements) and block bytes
    /// (ggml's `ggml_type_traits`: `blck_size`, `type_size`), and how spectral-audit reads it.
    public struct TensorType: Sendable, Hashable {
        public var id: UInt32
        public var name: String
        public var blockElements: Int
        public var blockBytes: Int
        /// The plain element type when the type is not block-quantized (F32, F16, BF16, F64, I*).
        public var plain: DType?
        /// True when `GGUFDequantize` decodes it.
        public var dequantized: Bool

        public var isReadable: Bool { plain != nil || dequantized }
    }

    private static func t(_ id: UInt32, _ name: String, _ block: Int, _ bytes: Int, plain: DType? = nil,
                          dequantized: Bool = false) -> TensorType {
        TensorType(id: id, name: name, blockElements: block, blockBytes: bytes, plain: plain, dequantized: dequantized)
    }

    /// Every ggml type known to ggml (2026-12). Types outside this table are refused as
    /// malformed; known types that are not read are listed with a reason (`unreadReason`).
    public static let tensorTypes: [UInt32: TensorType] = {
        let qk = 256  // QK_K
        let list: [TensorType] = [
            t(0, "F32", 1, 4, plain: .float32),
            t(1, "F16", 1, 2, plain: .float16),
            t(2, "Q4_0", 32, 2 + 16, dequantized: true),
            t(3, "Q4_1", 32, 2 + 2 + 16, dequantized: true),
            t(6, "Q5_0", 32, 2 + 4 + 16, dequantized: true),
            t(7, "Q5_1", 32, 2 + 2 + 4 + 16, dequantized: true),
            t(8, "Q8_0", 32, 2 + 32, dequantized: true),
            t(9, "Q8_1", 32, 4 + 4 + 32),
            t(10, "Q2_K", qk, 2 + 2 + qk / 16 + qk / 4, dequantized: true),
            t(11, "Q3_K", qk, 2 + qk / 4 + qk / 8 + 12, dequantized: true),
            t(12, "Q4_K", qk, 2 + 2 + qk / 2 + 12, dequantized: true),
            t(13, "Q5_K", qk, 2 + 2 + qk / 2 + qk / 8 + 12, dequantized: true),
            t(14, "Q6_K", qk, 2 + qk / 2 + qk / 4 + qk / 16, dequantized: true),
            t(15, "Q8_K", qk, 4 + qk + qk / 8, dequantized: true),
            t(16, "IQ2_XXS", qk, 2 + qk / 4),
            t(17, "IQ2_XS", qk, 2 + qk / 4 + qk / 32),
            t(18, "IQ3_XXS", qk, 2 + qk / 4 + qk / 8),
            t(19, "IQ1_S", qk, 2 + qk / 8 + qk / 16),
            t(20, "IQ4_NL", 32, 2 + 16),
            t(21, "IQ3_S", qk, 2 + qk / 4 + qk / 8 + qk / 32 + 4),
            t(22, "IQ2_S", qk, 2 + qk / 4 + qk / 16),
            t(23, "IQ4_XS", qk, 2 + 2 + qk / 2 + qk / 64),
            t(24, "I8", 1, 1, plain: .int8),
            t(25, "I16", 1, 2, plain: .int16),
            t(26, "I32", 1, 4, plain: .int32),
            t(27, "I64", 1, 8, plain: .int64),
            t(28, "F64", 1, 8, plain: .float64),
            t(29, "IQ1_M", qk, qk / 8 + qk / 16 + qk / 32),
            t(30, "BF16", 1, 2, plain: .bfloat16),
            t(34, "TQ1_0", qk, 2 + 4 * 13),
            t(35, "TQ2_0", qk, 2 + 64),
            t(39, "MXFP4", 32, 1 + 16),
            t(40, "NVFP4", 64, 4 + 32),
            t(41, "Q1_0", 128, 2 + 16),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
    }()

    /// Why a known type is not decoded (shown by `inspect` and in the audit row).
    public static func unreadReason(_ type: TensorType) -> String {
        switch type.name {
        case let n where n.hasPrefix("IQ"):
            return "\(n) is an importance-matrix codebook quantization (lattice grids); spectral-audit does not dequantize it yet"
        case let n where n.hasPrefix("TQ"):
            return "\(n) is a ternary quantization; spectral-audit does not dequantize it yet"
        case "Q8_1":
            return "Q8_1 is ggml's internal activation format, not a weight encoding; not dequantized"
        default:
            return "\(type.name) is not dequantized by spectral-audit yet"
        }
    }
}
