import Foundation

/// One ONNX tensor the store lists: its `TensorProto` (or a `value_float(s)`/`value_int(s)`
/// attribute made into one) and, for external data, the file range holding its bytes. `make`
/// validates everything a load relies on, so listing a file finds its inconsistencies:
/// dimensions (non-negative, at most `maxRank`, a byte size that fits in 64 bits), the element
/// count of the typed field in use or the exact byte length of `raw_data` / the external range.
struct ONNXTensorEntry: @unchecked Sendable {
    enum Storage {
        /// `raw_data`: little-endian elements, C order.
        case raw(Data)
        /// `float_data`, `int32_data`, `int64_data`, `double_data` or `uint64_data`.
        case typed(Onnx_TensorProto)
        /// `byteCount` bytes at `offset` of an external file.
        case external(FileBytes, offset: Int)
    }

    var info: TensorInfo
    var storage: Storage

    /// Validates `proto` as tensor `name` (`place` names it in errors). External data is
    /// resolved through `external`.
    static func make(_ proto: Onnx_TensorProto, name: String, place: String, path: String, limits: ReaderLimits,
                     external: ONNXExternalData) throws -> ONNXTensorEntry? {
        guard let dtype = ONNXFormat.dtype(proto.dataType) else { return nil }
        guard proto.dims.count <= limits.maxRank else {
            throw WeightFileError(.limitExceeded, path: path, place: "\(place) dims",
                                  expected: "at most \(limits.maxRank) dimensions (ReaderLimits.maxRank)", found: "\(proto.dims.count)")
        }
        guard proto.dims.allSatisfy({ $0 >= 0 }) else {
            throw WeightFileError(.malformed, path: path, place: "\(place) dims", expected: "non-negative dimensions",
                                  found: "\(proto.dims)")
        }
        let shape = proto.dims.map { Int($0) }
        guard let count = CheckedSize.product(shape), let bytes = CheckedSize.bytes(count: count, elementSize: dtype.byteSize) else {
            throw WeightFileError(.malformed, path: path, place: "\(place) dims",
                                  expected: "a size that fits in 64 bits", found: "\(shape) of \(ONNXFormat.typeName(proto.dataType))")
        }
        guard !proto.hasSegment else {
            throw WeightFileError(.unsupported, path: path, place: "\(place) segment",
                                  detail: "segmented tensors are not read")
        }
        let info = TensorInfo(name: name, shape: shape, dtype: dtype,
                              byteOrder: dtype.byteSize == 1 ? .notApplicable : .little,
                              layout: proto.dataLocation == .external ? "external" : (proto.hasRawData ? "raw_data" : "typed_field"),
                              role: TensorBytes.defaultRole(dtype), orientation: .unknown)
        if proto.dataLocation == .external {
            guard !proto.hasRawData else {
                throw WeightFileError(.malformed, path: path, place: "\(place) raw_data",
                                      expected: "no raw_data with data_location EXTERNAL", found: "\(proto.rawData.count) bytes")
            }
            let (file, offset) = try external.resolve(proto.externalData, byteCount: bytes, place: place)
            return ONNXTensorEntry(info: info, storage: .external(file, offset: offset))
        }
        if proto.hasRawData {
            guard proto.rawData.count == bytes else {
                throw WeightFileError(.malformed, path: path, place: "\(place) raw_data",
                                      expected: "\(bytes) bytes for shape \(shape) of \(ONNXFormat.typeName(proto.dataType))",
                                      found: "\(proto.rawData.count) bytes")
            }
            return ONNXTensorEntry(info: info, storage: .raw(proto.rawData))
        }
        let (field, found) = typedField(proto, dtype)
        guard found == count else {
            throw WeightFileError(.malformed, path: path, place: "\(place) \(field)",
                                  expected: "\(count) elements for shape \(shape)", found: "\(found)")
        }
        return ONNXTensorEntry(info: info, storage: .typed(proto))
    }

    /// The typed field `data_type` selects (onnx.proto TensorProto comments) and its length.
    static func typedField(_ p: Onnx_TensorProto, _ dtype: DType) -> (String, Int) {
        switch dtype {
        case .float32: return ("float_data", p.floatData.count)
        case .float64: return ("double_data", p.doubleData.count)
        case .int64: return ("int64_data", p.int64Data.count)
        case .uint32, .uint64: return ("uint64_data", p.uint64Data.count)
        case .int8, .uint8, .int16, .uint16, .int32, .bool, .float16, .bfloat16: return ("int32_data", p.int32Data.count)
        }
    }

    /// Calls `body` with the tensor's little-endian bytes (`info.byteCount` of them).
    func withBytes<R>(path: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        switch storage {
        case .raw(let data):
            return try data.withUnsafeBytes { try body($0) }
        case .external(let file, let offset):
            return try file.withBytes(offset: offset, count: info.byteCount, place: "tensor '\(info.name)' external data") { try body($0) }
        case .typed(let p):
            let bytes = ONNXTensorEntry.littleEndianBytes(p, info.dtype)
            return try bytes.withUnsafeBytes { try body($0) }
        }
    }

    /// Serializes a typed field to little-endian elements of `dtype`. 8/16-bit types and bool
    /// are carried in `int32_data` (float16/bfloat16 as their bit patterns, onnx.proto): the
    /// low bits are kept, as onnx's `numpy_helper.to_array` does.
    static func littleEndianBytes(_ p: Onnx_TensorProto, _ dtype: DType) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(p.floatData.count * 4 + p.doubleData.count * 8 + p.int64Data.count * 8
                            + p.uint64Data.count * 8 + p.int32Data.count * 4)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        switch dtype {
        case .float32: p.floatData.forEach { put($0.bitPattern) }
        case .float64: p.doubleData.forEach { put($0.bitPattern) }
        case .int64: p.int64Data.forEach { put($0) }
        case .uint64: p.uint64Data.forEach { put($0) }
        case .uint32: p.uint64Data.forEach { put(UInt32(truncatingIfNeeded: $0)) }
        case .int32: p.int32Data.forEach { put($0) }
        case .int16, .uint16, .float16, .bfloat16: p.int32Data.forEach { put(UInt16(truncatingIfNeeded: $0)) }
        case .int8, .uint8: p.int32Data.forEach { put(UInt8(truncatingIfNeeded: $0)) }
        case .bool: p.int32Data.forEach { put(UInt8($0 != 0 ? 1 : 0)) }
        }
        return out
    }
}
