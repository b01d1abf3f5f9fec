/// The storage class of an HDF5 datatype, as far as spectral-audit cares.
public enum HDF5TypeClass: String, Sendable, Hashable {
    /// Opaque bytes (`H5T_OPAQUE`): h5py writes numpy void types such as Keras' bfloat16 this way.
    case integer, float, string, opaque, other
}

/// A description of an HDF5 datatype (of a dataset or attribute) without any handle.
public struct HDF5TypeInfo: Sendable, Hashable {
    public var typeClass: HDF5TypeClass
    /// Bytes per element (for variable-length strings: the pointer size).
    public var size: Int
    /// `true` for big-endian multi-byte numbers.
    public var isBigEndian: Bool
    /// Integers: signed or not.
    public var isSigned: Bool
    /// Floats: exponent and mantissa widths in bits (f16 = 5/10, bf16 = 8/7, f32 = 8/23).
    public var exponentBits: Int
    public var mantissaBits: Int
    /// Strings: variable length (`char*`) rather than fixed size.
    public var isVariableString: Bool
    /// Opaque types: the tag string, if any.
    public var opaqueTag: String?

    public init(typeClass: HDF5TypeClass, size: Int, isBigEndian: Bool = false, isSigned: Bool = false,
                exponentBits: Int = 0, mantissaBits: Int = 0, isVariableString: Bool = false, opaqueTag: String? = nil) {
        self.typeClass = typeClass
        self.size = size
        self.isBigEndian = isBigEndian
        self.isSigned = isSigned
        self.exponentBits = exponentBits
        self.mantissaBits = mantissaBits
        self.isVariableString = isVariableString
        self.opaqueTag = opaqueTag
    }
}

/// Element types spectral-audit writes (and reads into memory).
public enum HDF5ScalarType: Sendable, Hashable {
    case float16, bfloat16, float32, float64
    case int8, uint8, int16, uint16, int32, uint32, int64, uint64
    /// One byte booleans are written as uint8 (h5py reads numpy `bool` as an enum; we keep bytes).
    case bool

    public var size: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }
}

/// What a link in a group points to.
public enum HDF5LinkKind: String, Sendable, Hashable {
    case group, dataset, namedDatatype = "datatype", softLink = "soft_link", externalLink = "external_link", other
}

public struct HDF5Link: Sendable, Hashable {
    public var name: String
    public var kind: HDF5LinkKind
    /// File address of a hard-linked object (identifies it across several links); nil otherwise.
    public var address: UInt64?
}

/// Storage of a dataset.
public struct HDF5StorageInfo: Sendable, Hashable {
    /// `contiguous`, `chunked` or `compact`.
    public var layout: String
    /// Chunk dimensions when chunked.
    public var chunk: [Int]?
    /// Filter names in pipeline order (`gzip`, `shuffle`, `fletcher32`, `szip`, `nbit`, `scaleoffset`, or `filter-N`).
    public var filters: [String]

    /// `chunked+gzip+shuffle` style summary.
    public var summary: String { ([layout] + filters).joined(separator: "+") }
}
