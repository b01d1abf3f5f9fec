/// Element types a weight file can store. Floating types are analysed; integer and boolean
/// tensors are listed but never treated as operators.
public enum DType: String, Sendable, Hashable, Codable, CaseIterable {
    case float16 = "f16"
    case bfloat16 = "bf16"
    case float32 = "f32"
    case float64 = "f64"
    case int8 = "i8"
    case uint8 = "u8"
    case int16 = "i16"
    case uint16 = "u16"
    case int32 = "i32"
    case uint32 = "u32"
    case int64 = "i64"
    case uint64 = "u64"
    case bool = "bool"

    /// Bytes per element as stored.
    public var byteSize: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }
}

/// Byte order of the stored elements. Single-byte types have none.
public enum ByteOrder: String, Sendable, Hashable, Codable {
    case little
    case big
    case notApplicable = "n/a"

    public static var native: ByteOrder {
        return 1.littleEndian == 1 ? .little : .big
    }
}
