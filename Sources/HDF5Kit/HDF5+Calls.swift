// The core of HDF5Kit's libhdf5 calls: library state, `check`, `Handle` and the shared type/space
// helpers. HDF5Kit is the package's only importer of CHDF5; its calls live here and in the
// `HDF5+Files`, `HDF5+Attributes`, `HDF5+Groups` and `HDF5+Datasets` files, and every one goes
// through `check`, which turns a negative return into an `HDF5Error` carrying HDF5's own error
// stack; HDF5's automatic stack printing is switched off once, here. Handles are closed exactly
// once (`Handle`).
internal import CHDF5

// MARK: - Library state

enum H5Library {
    /// Opens the library and silences its stderr error printing, once per process.
    ///
    /// `H5dont_atexit` first: libhdf5 (1.10, Debian bookworm) otherwise closes every open id
    /// from an atexit handler, and after a file whose close failed (a write error such as ENOSPC
    /// or EFBIG while flushing an output file) that handler dereferences the freed file and the
    /// process dies with SIGSEGV after it has already reported the error. Outputs are flushed
    /// and closed explicitly before they are renamed into place, and read-only files need no
    /// cleanup, so nothing is lost by skipping it.
    static let ready: Bool = {
        _ = H5dont_atexit()
        _ = H5open()
        _ = H5Eset_auto2(sa_H5E_DEFAULT(), nil, nil)
        return true
    }()

    static func ensure() { _ = ready }
}

private final class StackBox { var messages: [String] = [] }

/// HDF5's error stack for this thread, innermost frame first; clears it.
private func takeErrorStack() -> [String] {
    let box = StackBox()
    let ptr = Unmanaged.passUnretained(box).toOpaque()
    _ = H5Ewalk2(sa_H5E_DEFAULT(), H5E_WALK_UPWARD, { _, err, data in
        guard let err, let data else { return 0 }
        let box = Unmanaged<StackBox>.fromOpaque(data).takeUnretainedValue()
        // One line per message: some descriptions embed ctime()'s newline ("time = …\n, filename").
        let desc = (err.pointee.desc.map { String(cString: $0) } ?? "")
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        let fn = err.pointee.func_name.map { String(cString: $0) } ?? ""
        box.messages.append(fn.isEmpty ? desc : "\(desc) (\(fn))")
        return 0
    }, ptr)
    _ = H5Eclear2(sa_H5E_DEFAULT())
    return withExtendedLifetime(box) { box.messages }
}

@discardableResult
func check<T: BinaryInteger>(_ result: T, _ operation: String, _ target: @autoclosure () -> String) throws -> T {
    if result < 0 {
        throw HDF5Error(operation: operation, target: target(), stack: takeErrorStack())
    }
    return result
}

// MARK: - Handles

/// Owns one HDF5 identifier and closes it exactly once: explicitly, or when the last reference goes.
/// Opaque outside HDF5Kit.
public final class Handle: @unchecked Sendable {
    let id: hid_t
    private let closer: (hid_t) -> herr_t
    private var isClosed = false

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    func close(_ what: String) throws {
        guard !isClosed else { return }
        isClosed = true
        try check(closer(id), "H5close", what)
    }

    deinit {
        if !isClosed { _ = closer(id) }
    }
}

func fileHandle(_ id: hid_t) -> Handle { Handle(id) { H5Fclose($0) } }
func groupHandle(_ id: hid_t) -> Handle { Handle(id) { H5Gclose($0) } }
func datasetHandle(_ id: hid_t) -> Handle { Handle(id) { H5Dclose($0) } }
func attributeHandle(_ id: hid_t) -> Handle { Handle(id) { H5Aclose($0) } }
func typeHandle(_ id: hid_t) -> Handle { Handle(id) { H5Tclose($0) } }
func spaceHandle(_ id: hid_t) -> Handle { Handle(id) { H5Sclose($0) } }
func plistHandle(_ id: hid_t) -> Handle { Handle(id) { H5Pclose($0) } }
func objectHandle(_ id: hid_t) -> Handle { Handle(id) { H5Oclose($0) } }

// MARK: - Shared helpers (types, spaces, strings)

func extent(_ space: hid_t, _ target: String) throws -> [Int] {
    let cls = H5Sget_simple_extent_type(space)
    if cls == H5S_NULL { return [0] }
    let rank = Int(try check(H5Sget_simple_extent_ndims(space), "H5Sget_simple_extent_ndims", target))
    if rank == 0 { return [] }
    var dims = [hsize_t](repeating: 0, count: rank)
    try check(H5Sget_simple_extent_dims(space, &dims, nil), "H5Sget_simple_extent_dims", target)
    return try dims.map {
        guard $0 <= hsize_t(Int.max) else {
            throw HDF5Error(operation: "H5Sget_simple_extent_dims", target: target, stack: ["dimension \($0) too large"])
        }
        return Int($0)
    }
}

func describeType(_ t: hid_t, _ target: String) throws -> HDF5TypeInfo {
    let size = H5Tget_size(t)
    switch H5Tget_class(t) {
    case H5T_INTEGER:
        return HDF5TypeInfo(typeClass: .integer, size: size, isBigEndian: H5Tget_order(t) == H5T_ORDER_BE,
                            isSigned: H5Tget_sign(t) == H5T_SGN_2)
    case H5T_FLOAT:
        var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
        try check(H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize), "H5Tget_fields", target)
        return HDF5TypeInfo(typeClass: .float, size: size, isBigEndian: H5Tget_order(t) == H5T_ORDER_BE,
                            isSigned: true, exponentBits: esize, mantissaBits: msize)
    case H5T_STRING:
        return HDF5TypeInfo(typeClass: .string, size: size, isVariableString: H5Tis_variable_str(t) > 0)
    case H5T_OPAQUE:
        var tag: String?
        if let p = H5Tget_tag(t) {
            tag = String(cString: p)
            H5free_memory(p)
        }
        return HDF5TypeInfo(typeClass: .opaque, size: size, opaqueTag: tag)
    case H5T_ENUM:
        // numpy/h5py booleans are an enum over int8 ({FALSE: 0, TRUE: 1}).
        return HDF5TypeInfo(typeClass: .other, size: size)
    default:
        return HDF5TypeInfo(typeClass: .other, size: size)
    }
}

func makeSpace(_ shape: [Int]?, _ target: String) throws -> Handle {
    guard let shape else {
        return spaceHandle(try check(H5Screate(H5S_SCALAR), "H5Screate", target))
    }
    var dims = shape.map { hsize_t($0) }
    return spaceHandle(try check(H5Screate_simple(Int32(dims.count), &dims, nil), "H5Screate_simple", target))
}

/// A file (and memory) datatype for `type`: IEEE little-endian floats, two's-complement
/// little-endian integers; f16/bf16 are built as h5py builds f16 (fields, size, bias).
func makeFileType(_ type: HDF5ScalarType, _ target: String) throws -> Handle {
    func copied(_ base: hid_t) throws -> Handle {
        typeHandle(try check(H5Tcopy(base), "H5Tcopy", target))
    }
    switch type {
    case .float16, .bfloat16:
        let t = try copied(sa_H5T_IEEE_F32LE())
        let (mbits, ebits, bias): (Int, Int, Int) = type == .float16 ? (10, 5, 15) : (7, 8, 127)
        try check(H5Tset_fields(t.id, 15, mbits, ebits, 0, mbits), "H5Tset_fields", target)
        try check(H5Tset_size(t.id, 2), "H5Tset_size", target)
        try check(H5Tset_ebias(t.id, bias), "H5Tset_ebias", target)
        return t
    case .float32: return try copied(sa_H5T_IEEE_F32LE())
    case .float64: return try copied(sa_H5T_IEEE_F64LE())
    case .int8: return try copied(sa_H5T_NATIVE_INT8())
    case .uint8, .bool: return try copied(sa_H5T_STD_U8LE())
    case .int16: return try copied(sa_H5T_NATIVE_INT16())
    case .uint16: return try copied(sa_H5T_STD_U16LE())
    case .int32: return try copied(sa_H5T_STD_I32LE())
    case .uint32: return try copied(sa_H5T_NATIVE_UINT32())
    case .int64: return try copied(sa_H5T_STD_I64LE())
    case .uint64: return try copied(sa_H5T_NATIVE_UINT64())
    }
}

func variableStringType(_ target: String) throws -> Handle {
    let t = typeHandle(try check(H5Tcopy(sa_H5T_C_S1()), "H5Tcopy", target))
    try check(H5Tset_size(t.id, sa_H5T_VARIABLE()), "H5Tset_size", target)
    try check(H5Tset_cset(t.id, H5T_CSET_UTF8), "H5Tset_cset", target)
    return t
}

func intermediateGroupsLCPL(_ target: String) throws -> Handle {
    let lcpl = plistHandle(try check(H5Pcreate(sa_H5P_LINK_CREATE()), "H5Pcreate", target))
    try check(H5Pset_create_intermediate_group(lcpl.id, 1), "H5Pset_create_intermediate_group", target)
    return lcpl
}

/// Calls `body` with a `char*[]` of NUL-terminated UTF-8 copies of `strings`.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafeMutableRawPointer) throws -> R) throws -> R {
    let copies: [UnsafeMutablePointer<CChar>] = strings.map { s in
        let utf8 = Array(s.utf8)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        for (i, b) in utf8.enumerated() { p[i] = CChar(bitPattern: b) }
        p[utf8.count] = 0
        return p
    }
    defer { copies.forEach { $0.deallocate() } }
    var ptrs: [UnsafeMutablePointer<CChar>?] = copies
    return try ptrs.withUnsafeMutableBytes { try body($0.baseAddress!) }
}

/// Reads `count` strings of file type `fileType` through `read(memType, buffer)`.
func readStringElements(count: Int, fileType: hid_t, space: hid_t, target: String,
                         read: (hid_t, UnsafeMutableRawPointer?) -> herr_t) throws -> [String] {
    let cset = H5Tget_cset(fileType)
    if H5Tis_variable_str(fileType) > 0 {
        let mem = typeHandle(try check(H5Tcopy(sa_H5T_C_S1()), "H5Tcopy", target))
        try check(H5Tset_size(mem.id, sa_H5T_VARIABLE()), "H5Tset_size", target)
        try check(H5Tset_cset(mem.id, cset), "H5Tset_cset", target)
        var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        return try ptrs.withUnsafeMutableBytes { raw in
            _ = try check(read(mem.id, raw.baseAddress), "H5Xread", target)
            defer { _ = H5Dvlen_reclaim(mem.id, space, sa_H5P_DEFAULT(), raw.baseAddress) }
            return raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self).map { p in
                p.map { String(cString: $0) } ?? ""
            }
        }
    }
    let size = H5Tget_size(fileType)
    guard size > 0 else { return [String](repeating: "", count: count) }
    let mem = typeHandle(try check(H5Tcopy(fileType), "H5Tcopy", target))
    var bytes = [UInt8](repeating: 0, count: count * size)
    try bytes.withUnsafeMutableBytes { raw in
        _ = try check(read(mem.id, raw.baseAddress), "H5Xread", target)
    }
    return (0..<count).map { i in
        var chunk = bytes[(i * size)..<((i + 1) * size)]
        if let nul = chunk.firstIndex(of: 0) { chunk = chunk[chunk.startIndex..<nul] }
        return String(decoding: chunk, as: UTF8.self)
    }
}
