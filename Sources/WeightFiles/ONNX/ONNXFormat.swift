/// The ONNX file format as spectral-audit reads it (onnx.proto, IR versions 3–14, opset 7+).
///
/// An `.onnx` file is one serialized protobuf `ModelProto` (proto2; `tools/onnx/onnx.proto`,
/// copied from the `onnx` package 1.23.2, decoded by apple/swift-protobuf with the generated
/// `onnx.pb.swift`). Weights are `TensorProto`s: the main graph's and every subgraph's
/// `initializer`s, and the `value` (or `value_float(s)`/`value_int(s)`) attribute of `Constant`
/// nodes. A tensor's elements are in `raw_data` (little-endian, C order), or in the typed field
/// its `data_type` selects (`float_data`, `int32_data` — which also carries the bit patterns of
/// 8/16-bit types — `int64_data`, `double_data`, `uint64_data`), or, with
/// `data_location = EXTERNAL`, in another file named by the `external_data` keys `location`,
/// `offset` and `length`, relative to the model's folder.
enum ONNXFormat {
    /// The first byte of every ModelProto written by the reference serializers: field 1
    /// (`ir_version`, varint) comes first.
    static let irVersionTag: UInt8 = 0x08

    /// Tags (field number << 3 | wire type) of the ModelProto fields that may follow
    /// `ir_version` (onnx.proto: producer_name 2, producer_version 3, domain 4, model_version 5,
    /// doc_string 6, graph 7, opset_import 8, metadata_props 14, training_info 20 (two-byte
    /// tag), functions 25, configuration 26).
    static let tagsAfterIRVersion: Set<UInt8> = [0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA, 0xD2]

    /// True when `prefix` (the file's first bytes) starts like a ModelProto: `0x08`, a
    /// one-byte `ir_version` in 1…127, then the tag of another ModelProto field. A safetensors
    /// file whose 8-byte header length happens to start with `0x08` is told apart by its `{` at
    /// byte 8 after a length below 2^32 (bytes 4–7 zero); a decode error after a successful sniff
    /// is reported as a malformed ONNX file.
    static func looksLikeModel(_ prefix: [UInt8]) -> Bool {
        guard prefix.count >= 3, prefix[0] == irVersionTag, (1...0x7F).contains(prefix[1]),
              tagsAfterIRVersion.contains(prefix[2]) else { return false }
        if prefix.count >= 9, prefix[8] == UInt8(ascii: "{"), prefix[4..<8].allSatisfy({ $0 == 0 }) { return false }
        return true
    }

    /// `TensorProto.DataType` → the element type read, for the types spectral-audit converts.
    /// STRING, COMPLEX64/128, the float8/float6/float4 and the 4/2-bit integer types are listed
    /// in the graph summary as skipped, never guessed.
    static func dtype(_ code: Int32) -> DType? {
        switch Onnx_TensorProto.DataType(rawValue: Int(code)) {
        case .float: return .float32
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .bool: return .bool
        case .float16: return .float16
        case .double: return .float64
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .bfloat16: return .bfloat16
        default: return nil
        }
    }

    /// The `DataType` name of a code (for messages), e.g. `FLOAT8E4M3FN`.
    static func typeName(_ code: Int32) -> String {
        guard let t = Onnx_TensorProto.DataType(rawValue: Int(code)) else { return "data_type \(code)" }
        return "\(t)".uppercased()
    }

    /// External-data keys (onnx/external_data_helper.py).
    static let keyLocation = "location"
    static let keyOffset = "offset"
    static let keyLength = "length"
    static let keyChecksum = "checksum"
}
