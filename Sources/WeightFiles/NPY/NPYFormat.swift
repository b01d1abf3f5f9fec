/// The NumPy `.npy` format, written down once (after numpy's `lib/format.py`, format
/// versions 1.0–3.0). Readers use these names; nothing else hard-codes the layout.
///
/// ```
/// offset 0   6 bytes   magic "\x93NUMPY"
/// offset 6   1 byte    major version (1, 2 or 3)
/// offset 7   1 byte    minor version (0)
/// offset 8   2 bytes   header length HL, little-endian u16        (version 1.0)
///            4 bytes   header length HL, little-endian u32        (versions 2.0, 3.0)
/// then       HL bytes  a Python dict literal, latin-1 (1.0, 2.0) or UTF-8 (3.0),
///                      padded with spaces and ended by '\n' so that the data starts on a
///                      multiple of `alignment`:
///                      {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
/// then       the elements, C order unless fortran_order is True.
/// ```
public enum NPYFormat {
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// Bytes of the magic plus the two version bytes.
    public static let magicAndVersionLength = 8
    /// Header-length field width and total prelude length per version.
    public static let version1 = Version(major: 1, minor: 0, lengthFieldBytes: 2, headerEncoding: .latin1)
    public static let version2 = Version(major: 2, minor: 0, lengthFieldBytes: 4, headerEncoding: .latin1)
    public static let version3 = Version(major: 3, minor: 0, lengthFieldBytes: 4, headerEncoding: .utf8)
    public static let versions = [version1, version2, version3]
    /// The longest prelude (magic, version, u32 length).
    public static let maxPreludeLength = 12
    /// numpy pads the header so the data starts on a multiple of this (16 before numpy 1.15).
    /// Readers do not require it.
    public static let alignment = 64
    /// The three keys of the header dict, all required, no others allowed.
    public static let keyDescr = "descr"
    public static let keyFortranOrder = "fortran_order"
    public static let keyShape = "shape"
    public static let requiredKeys: Set<String> = [keyDescr, keyFortranOrder, keyShape]

    public enum HeaderEncoding: Sendable { case latin1, utf8 }

    public struct Version: Sendable, Hashable {
        public var major: UInt8
        public var minor: UInt8
        public var lengthFieldBytes: Int
        public var headerEncoding: HeaderEncoding
        /// Magic, version bytes and the header-length field.
        public var preludeLength: Int { NPYFormat.magicAndVersionLength + lengthFieldBytes }
    }

    /// Byte-order characters of a `descr` string.
    public static let littleEndianChar = UInt8(ascii: "<")
    public static let bigEndianChar = UInt8(ascii: ">")
    public static let notApplicableChar = UInt8(ascii: "|")
    public static let nativeChar = UInt8(ascii: "=")

    /// `descr` kind + item size → element type. Anything else is refused.
    public static func dtype(kind: Character, itemSize: Int) -> DType? {
        switch (kind, itemSize) {
        case ("f", 2): return .float16
        case ("f", 4): return .float32
        case ("f", 8): return .float64
        case ("i", 1): return .int8
        case ("i", 2): return .int16
        case ("i", 4): return .int32
        case ("i", 8): return .int64
        case ("u", 1): return .uint8
        case ("u", 2): return .uint16
        case ("u", 4): return .uint32
        case ("u", 8): return .uint64
        case ("b", 1): return .bool
        default: return nil
        }
    }

    /// Kinds numpy can write that spectral-audit refuses, with the reason shown to the user.
    public static func unsupportedKindReason(_ kind: Character, itemSize: Int?) -> String? {
        switch kind {
        case "O": return "pickled object arrays are refused (loading them can run arbitrary code)"
        case "V":
            return itemSize == 2
                ? "void dtype '|V2' (how ml_dtypes stores bfloat16 in .npy) has no element type; save bfloat16 as safetensors or convert to float32"
                : "void/raw dtypes have no element type"
        case "c": return "complex dtypes are not weights spectral-audit can analyse"
        case "U", "S", "a": return "string dtypes are not numeric"
        case "M", "m": return "datetime dtypes are not numeric"
        case "f": return "only float16, float32 and float64 are read (not \(itemSize.map { "\($0 * 8)" } ?? "?")-bit floats)"
        default: return nil
        }
    }
}
