// The only file in the package that calls libhdf5. Every call goes through `check`, which turns a
// negative return into an `HDF5Error` carrying HDF5's own error stack; HDF5's automatic stack
// printing is switched off once, here. Handles are closed exactly once (`Handle`).
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
private func check<T: BinaryInteger>(_ result: T, _ operation: String, _ target: @autoclosure () -> String) throws -> T {
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

private func fileHandle(_ id: hid_t) -> Handle { Handle(id) { H5Fclose($0) } }
private func groupHandle(_ id: hid_t) -> Handle { Handle(id) { H5Gclose($0) } }
private func datasetHandle(_ id: hid_t) -> Handle { Handle(id) { H5Dclose($0) } }
private func attributeHandle(_ id: hid_t) -> Handle { Handle(id) { H5Aclose($0) } }
private func typeHandle(_ id: hid_t) -> Handle { Handle(id) { H5Tclose($0) } }
private func spaceHandle(_ id: hid_t) -> Handle { Handle(id) { H5Sclose($0) } }
private func plistHandle(_ id: hid_t) -> Handle { Handle(id) { H5Pclose($0) } }
private func objectHandle(_ id: hid_t) -> Handle { Handle(id) { H5Oclose($0) } }

// MARK: - Files

extension HDF5File {
    /// Opens an existing file read-only. The file is never opened for writing.
    public static func openReadOnly(path: String) throws -> HDF5File {
        H5Library.ensure()
        let id = try check(H5Fopen(path, sa_H5F_ACC_RDONLY(), sa_H5P_DEFAULT()), "H5Fopen", path)
        return HDF5File(handle: fileHandle(id), path: path)
    }

    /// Opens an HDF5 file held in memory (e.g. `model.weights.h5` inside a `.keras` zip) with the
    /// core driver; the bytes are copied by HDF5, nothing touches the disk.
    public static func openImage(_ bytes: [UInt8], name: String) throws -> HDF5File {
        H5Library.ensure()
        let fapl = plistHandle(try check(H5Pcreate(sa_H5P_FILE_ACCESS()), "H5Pcreate", name))
        try check(H5Pset_fapl_core(fapl.id, 1 << 20, false), "H5Pset_fapl_core", name)
        var copy = bytes
        try copy.withUnsafeMutableBytes { buf in
            _ = try check(H5Pset_file_image(fapl.id, buf.baseAddress, buf.count), "H5Pset_file_image", name)
        }
        let id = try check(H5Fopen(name, sa_H5F_ACC_RDONLY(), fapl.id), "H5Fopen", name)
        return HDF5File(handle: fileHandle(id), path: name)
    }

    /// Opens for reading and writing a file that this process itself has just written (e.g. a
    /// byte copy of the input made for annotation). Never call it on a user's input file.
    public static func openForUpdate(ownCopy path: String) throws -> HDF5File {
        H5Library.ensure()
        let id = try check(H5Fopen(path, sa_H5F_ACC_RDWR(), sa_H5P_DEFAULT()), "H5Fopen", path)
        return HDF5File(handle: fileHandle(id), path: path)
    }

    /// Creates a new file; fails if it exists (callers write to a fresh temporary name).
    public static func create(path: String) throws -> HDF5File {
        H5Library.ensure()
        let id = try check(H5Fcreate(path, sa_H5F_ACC_EXCL(), sa_H5P_DEFAULT(), sa_H5P_DEFAULT()), "H5Fcreate", path)
        return HDF5File(handle: fileHandle(id), path: path)
    }

    /// True when the first bytes are the HDF5 signature (at offset 0; user blocks are not searched).
    public static func hasSignature(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 8 && Array(prefix[0..<8]) == [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    }

    public var root: HDF5Group {
        get throws {
            let id = try check(H5Gopen2(handle.id, "/", sa_H5P_DEFAULT()), "H5Gopen2", "\(path):/")
            return HDF5Group(handle: groupHandle(id), file: self, path: "/")
        }
    }

    public func flush() throws {
        try check(H5Fflush(handle.id, H5F_SCOPE_GLOBAL), "H5Fflush", path)
    }

    public func close() throws { try handle.close(path) }
}

// MARK: - Objects shared by groups and datasets

extension HDF5Object {
    /// File address of this object (stable identity for cycle detection).
    public func address() throws -> UInt64 {
        var info = H5O_info_t()
        try check(H5Oget_info2(handle.id, &info, UInt32(H5O_INFO_BASIC)), "H5Oget_info2", objectPath)
        return UInt64(info.addr)
    }

    public func attributeNames() throws -> [String] {
        var info = H5O_info_t()
        try check(H5Oget_info2(handle.id, &info, UInt32(H5O_INFO_NUM_ATTRS)), "H5Oget_info2", objectPath)
        var names: [String] = []
        for i in 0..<Int(info.num_attrs) {
            let a = attributeHandle(try check(H5Aopen_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i),
                                                             sa_H5P_DEFAULT(), sa_H5P_DEFAULT()), "H5Aopen_by_idx", objectPath))
            let len = try check(H5Aget_name(a.id, 0, nil), "H5Aget_name", objectPath)
            var buf = [CChar](repeating: 0, count: Int(len) + 1)
            try check(H5Aget_name(a.id, buf.count, &buf), "H5Aget_name", objectPath)
            names.append(String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    public func hasAttribute(_ name: String) throws -> Bool {
        try check(H5Aexists(handle.id, name), "H5Aexists", "\(objectPath)@\(name)") > 0
    }

    /// Type and element count of an attribute.
    public func attributeInfo(_ name: String) throws -> (type: HDF5TypeInfo, shape: [Int]) {
        let a = try openAttribute(name)
        let t = typeHandle(try check(H5Aget_type(a.id), "H5Aget_type", "\(objectPath)@\(name)"))
        let s = spaceHandle(try check(H5Aget_space(a.id), "H5Aget_space", "\(objectPath)@\(name)"))
        return (try describeType(t.id, "\(objectPath)@\(name)"), try extent(s.id, "\(objectPath)@\(name)"))
    }

    private func openAttribute(_ name: String) throws -> Handle {
        attributeHandle(try check(H5Aopen(handle.id, name, sa_H5P_DEFAULT()), "H5Aopen", "\(objectPath)@\(name)"))
    }

    /// Reads a string attribute of any shape (fixed or variable length, ASCII or UTF-8) as an
    /// array of strings. Fixed-length strings lose trailing NULs and spaces-padding is kept.
    public func readStringsAttribute(_ name: String) throws -> [String] {
        let target = "\(objectPath)@\(name)"
        let a = try openAttribute(name)
        let t = typeHandle(try check(H5Aget_type(a.id), "H5Aget_type", target))
        let s = spaceHandle(try check(H5Aget_space(a.id), "H5Aget_space", target))
        let count = Int(try check(H5Sget_simple_extent_npoints(s.id), "H5Sget_simple_extent_npoints", target))
        guard H5Tget_class(t.id) == H5T_STRING else {
            throw HDF5Error(operation: "H5Aread", target: target, stack: ["attribute is not a string"])
        }
        return try readStringElements(count: count, fileType: t.id, space: s.id, target: target) { mem, buf in
            H5Aread(a.id, mem, buf)
        }
    }

    /// Reads a numeric attribute of any shape as Float64 (HDF5 converts).
    public func readDoublesAttribute(_ name: String) throws -> [Double] {
        let target = "\(objectPath)@\(name)"
        let a = try openAttribute(name)
        let s = spaceHandle(try check(H5Aget_space(a.id), "H5Aget_space", target))
        let count = Int(try check(H5Sget_simple_extent_npoints(s.id), "H5Sget_simple_extent_npoints", target))
        var out = [Double](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { buf in
            _ = try check(H5Aread(a.id, sa_H5T_NATIVE_DOUBLE(), buf.baseAddress), "H5Aread", target)
        }
        return out
    }

    /// Writes (replacing) a scalar UTF-8 variable-length string attribute.
    public func setAttribute(_ name: String, string value: String) throws {
        try setAttribute(name, strings: [value], scalar: true)
    }

    /// Writes (replacing) a 1-D array of UTF-8 variable-length strings (or a scalar when `scalar`).
    public func setAttribute(_ name: String, strings values: [String], scalar: Bool = false) throws {
        let target = "\(objectPath)@\(name)"
        let t = try variableStringType(target)
        let s = try makeSpace(scalar ? nil : [values.count], target)
        let a = try recreateAttribute(name, type: t.id, space: s.id, target: target)
        try withCStringArray(values) { ptrs in
            _ = try check(H5Awrite(a.id, t.id, ptrs), "H5Awrite", target)
        }
    }

    /// Writes (replacing) a Float64 attribute, scalar or 1-D.
    public func setAttribute(_ name: String, doubles values: [Double], scalar: Bool = false) throws {
        let target = "\(objectPath)@\(name)"
        let s = try makeSpace(scalar ? nil : [values.count], target)
        let a = try recreateAttribute(name, type: sa_H5T_IEEE_F64LE(), space: s.id, target: target)
        try values.withUnsafeBytes { buf in
            _ = try check(H5Awrite(a.id, sa_H5T_NATIVE_DOUBLE(), buf.baseAddress), "H5Awrite", target)
        }
    }

    public func setAttribute(_ name: String, double value: Double) throws {
        try setAttribute(name, doubles: [value], scalar: true)
    }

    /// Writes (replacing) a scalar Int64 attribute.
    public func setAttribute(_ name: String, int value: Int64) throws {
        let target = "\(objectPath)@\(name)"
        let s = try makeSpace(nil, target)
        let a = try recreateAttribute(name, type: sa_H5T_STD_I64LE(), space: s.id, target: target)
        var v = value
        try check(H5Awrite(a.id, sa_H5T_NATIVE_INT64(), &v), "H5Awrite", target)
    }

    /// Copies every attribute of `source` onto this object unchanged (same datatype, same
    /// dataspace, same bytes), replacing attributes of the same name.
    public func copyAttributes(from source: HDF5Object) throws {
        for name in try source.attributeNames() {
            let target = "\(source.objectPath)@\(name)"
            let a = try source.openAttribute(name)
            let t = typeHandle(try check(H5Aget_type(a.id), "H5Aget_type", target))
            let s = spaceHandle(try check(H5Aget_space(a.id), "H5Aget_space", target))
            let n = Int(try check(H5Sget_simple_extent_npoints(s.id), "H5Sget_simple_extent_npoints", target))
            let size = H5Tget_size(t.id)
            var buf = [UInt8](repeating: 0, count: max(1, n * size))
            let hasVLen = H5Tdetect_class(t.id, H5T_VLEN) > 0 || H5Tis_variable_str(t.id) > 0
            try buf.withUnsafeMutableBytes { raw in
                _ = try check(H5Aread(a.id, t.id, raw.baseAddress), "H5Aread", target)
                defer { if hasVLen { _ = H5Dvlen_reclaim(t.id, s.id, sa_H5P_DEFAULT(), raw.baseAddress) } }
                let d = try recreateAttribute(name, type: t.id, space: s.id, target: "\(objectPath)@\(name)")
                try check(H5Awrite(d.id, t.id, raw.baseAddress), "H5Awrite", "\(objectPath)@\(name)")
            }
        }
    }

    private func recreateAttribute(_ name: String, type: hid_t, space: hid_t, target: String) throws -> Handle {
        if try check(H5Aexists(handle.id, name), "H5Aexists", target) > 0 {
            try check(H5Adelete(handle.id, name), "H5Adelete", target)
        }
        return attributeHandle(try check(H5Acreate2(handle.id, name, type, space, sa_H5P_DEFAULT(), sa_H5P_DEFAULT()),
                                         "H5Acreate2", target))
    }
}

// MARK: - Groups

extension HDF5Group {
    /// The links of this group in name order, with what each points to. Soft and external links
    /// are reported, never followed.
    public func links() throws -> [HDF5Link] {
        var ginfo = H5G_info_t()
        try check(H5Gget_info(handle.id, &ginfo), "H5Gget_info", path)
        var result: [HDF5Link] = []
        result.reserveCapacity(Int(ginfo.nlinks))
        for i in 0..<ginfo.nlinks {
            let len = try check(H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, sa_H5P_DEFAULT()),
                                "H5Lget_name_by_idx", path)
            var buf = [CChar](repeating: 0, count: Int(len) + 1)
            try check(H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, sa_H5P_DEFAULT()),
                      "H5Lget_name_by_idx", path)
            let name = String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let linkPath = childPath(name)
            var linfo = H5L_info_t()
            try check(H5Lget_info(handle.id, name, &linfo, sa_H5P_DEFAULT()), "H5Lget_info", linkPath)
            switch linfo.type {
            case H5L_TYPE_SOFT:
                result.append(HDF5Link(name: name, kind: .softLink, address: nil))
            case H5L_TYPE_EXTERNAL:
                result.append(HDF5Link(name: name, kind: .externalLink, address: nil))
            case H5L_TYPE_HARD:
                let o = objectHandle(try check(H5Oopen(handle.id, name, sa_H5P_DEFAULT()), "H5Oopen", linkPath))
                var oinfo = H5O_info_t()
                try check(H5Oget_info2(o.id, &oinfo, UInt32(H5O_INFO_BASIC)), "H5Oget_info2", linkPath)
                let kind: HDF5LinkKind
                switch oinfo.type {
                case H5O_TYPE_GROUP: kind = .group
                case H5O_TYPE_DATASET: kind = .dataset
                case H5O_TYPE_NAMED_DATATYPE: kind = .namedDatatype
                default: kind = .other
                }
                result.append(HDF5Link(name: name, kind: kind, address: UInt64(oinfo.addr)))
            default:
                result.append(HDF5Link(name: name, kind: .other, address: nil))
            }
        }
        return result
    }

    public func openGroup(_ name: String) throws -> HDF5Group {
        let p = childPath(name)
        let id = try check(H5Gopen2(handle.id, name, sa_H5P_DEFAULT()), "H5Gopen2", p)
        return HDF5Group(handle: groupHandle(id), file: file, path: p)
    }

    public func openDataset(_ name: String) throws -> HDF5Dataset {
        let p = childPath(name)
        let id = try check(H5Dopen2(handle.id, name, sa_H5P_DEFAULT()), "H5Dopen2", p)
        return HDF5Dataset(handle: datasetHandle(id), file: file, path: p)
    }

    /// True when a link of that name (a relative path is allowed) exists and resolves.
    public func exists(_ name: String) throws -> Bool {
        // Check each component so that a missing intermediate group is `false`, not an error.
        var prefix = ""
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if try check(H5Lexists(handle.id, prefix, sa_H5P_DEFAULT()), "H5Lexists", childPath(prefix)) <= 0 {
                return false
            }
        }
        return try check(H5Oexists_by_name(handle.id, name, sa_H5P_DEFAULT()), "H5Oexists_by_name", childPath(name)) > 0
    }

    /// Creates a group; intermediate groups in `name` are created as needed.
    public func createGroup(_ name: String) throws -> HDF5Group {
        let p = childPath(name)
        let lcpl = try intermediateGroupsLCPL(p)
        let id = try check(H5Gcreate2(handle.id, name, lcpl.id, sa_H5P_DEFAULT(), sa_H5P_DEFAULT()), "H5Gcreate2", p)
        return HDF5Group(handle: groupHandle(id), file: file, path: p)
    }

    /// Opens the group `name`, creating it (and intermediates) when absent.
    public func group(_ name: String) throws -> HDF5Group {
        try exists(name) ? openGroup(name) : createGroup(name)
    }

    /// Creates a dataset of `shape` (empty = scalar) holding `bytes` of native-order `type`
    /// elements, in C order. Contiguous storage unless `chunk` is given (then with gzip `level`).
    @discardableResult
    public func createDataset(_ name: String, type: HDF5ScalarType, shape: [Int], bytes: UnsafeRawBufferPointer,
                              chunk: [Int]? = nil, gzipLevel: Int? = nil) throws -> HDF5Dataset {
        let p = childPath(name)
        let expected = shape.reduce(1, *) * type.size
        guard bytes.count == expected else {
            throw HDF5Error(operation: "H5Dwrite", target: p, stack: ["\(bytes.count) bytes for \(expected) expected"])
        }
        let fileType = try makeFileType(type, p)
        let space = try makeSpace(shape.isEmpty ? nil : shape, p)
        let lcpl = try intermediateGroupsLCPL(p)
        let dcpl = plistHandle(try check(H5Pcreate(sa_H5P_DATASET_CREATE()), "H5Pcreate", p))
        if let chunk, !shape.isEmpty, !shape.contains(0) {
            var dims = chunk.map { hsize_t($0) }
            try check(H5Pset_chunk(dcpl.id, Int32(dims.count), &dims), "H5Pset_chunk", p)
            if let gzipLevel { try check(H5Pset_deflate(dcpl.id, UInt32(gzipLevel)), "H5Pset_deflate", p) }
        }
        let id = try check(H5Dcreate2(handle.id, name, fileType.id, space.id, lcpl.id, dcpl.id, sa_H5P_DEFAULT()), "H5Dcreate2", p)
        let d = HDF5Dataset(handle: datasetHandle(id), file: file, path: p)
        if expected > 0 {
            let memType = try makeFileType(type, p) // native little-endian on the platforms we build for
            try check(H5Dwrite(id, memType.id, sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), bytes.baseAddress),
                      "H5Dwrite", p)
        }
        return d
    }

    /// Creates a scalar UTF-8 variable-length string dataset (e.g. the full JSON report).
    @discardableResult
    public func createStringDataset(_ name: String, value: String) throws -> HDF5Dataset {
        let p = childPath(name)
        let t = try variableStringType(p)
        let space = try makeSpace(nil, p)
        let lcpl = try intermediateGroupsLCPL(p)
        let id = try check(H5Dcreate2(handle.id, name, t.id, space.id, lcpl.id, sa_H5P_DEFAULT(), sa_H5P_DEFAULT()), "H5Dcreate2", p)
        try withCStringArray([value]) { ptrs in
            _ = try check(H5Dwrite(id, t.id, sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), ptrs), "H5Dwrite", p)
        }
        return HDF5Dataset(handle: datasetHandle(id), file: file, path: p)
    }

    /// Copies the object `name` of `source` (with everything below it and all attributes,
    /// bit for bit) to `destination` in this group.
    public func copyObject(from source: HDF5Group, name: String, to destination: String) throws {
        let p = childPath(destination)
        let lcpl = try intermediateGroupsLCPL(p)
        try check(H5Ocopy(source.handle.id, name, handle.id, destination, sa_H5P_DEFAULT(), lcpl.id), "H5Ocopy", p)
    }

    public func removeLink(_ name: String) throws {
        try check(H5Ldelete(handle.id, name, sa_H5P_DEFAULT()), "H5Ldelete", childPath(name))
    }
}

// MARK: - Datasets

extension HDF5Dataset {
    public var shape: [Int] {
        get throws {
            let s = spaceHandle(try check(H5Dget_space(handle.id), "H5Dget_space", path))
            return try extent(s.id, path)
        }
    }

    public var typeInfo: HDF5TypeInfo {
        get throws {
            let t = typeHandle(try check(H5Dget_type(handle.id), "H5Dget_type", path))
            return try describeType(t.id, path)
        }
    }

    public var storage: HDF5StorageInfo {
        get throws {
            let dcpl = plistHandle(try check(H5Dget_create_plist(handle.id), "H5Dget_create_plist", path))
            let layout = H5Pget_layout(dcpl.id)
            var info = HDF5StorageInfo(layout: "contiguous", chunk: nil, filters: [])
            switch layout {
            case H5D_CHUNKED:
                info.layout = "chunked"
                let rank = Int(try check(H5Pget_chunk(dcpl.id, 0, nil), "H5Pget_chunk", path))
                var dims = [hsize_t](repeating: 0, count: max(rank, 1))
                try check(H5Pget_chunk(dcpl.id, Int32(rank), &dims), "H5Pget_chunk", path)
                info.chunk = dims.prefix(rank).map { Int($0) }
            case H5D_COMPACT: info.layout = "compact"
            case H5D_VIRTUAL: info.layout = "virtual"
            default: info.layout = "contiguous"
            }
            let n = try check(H5Pget_nfilters(dcpl.id), "H5Pget_nfilters", path)
            for i in 0..<UInt32(n) {
                var flags: UInt32 = 0
                var nelmts = 0
                var config: UInt32 = 0
                var name = [CChar](repeating: 0, count: 64)
                let f = H5Pget_filter2(dcpl.id, i, &flags, &nelmts, nil, name.count, &name, &config)
                switch f {
                case 1: info.filters.append("gzip")
                case 2: info.filters.append("shuffle")
                case 3: info.filters.append("fletcher32")
                case 4: info.filters.append("szip")
                case 5: info.filters.append("nbit")
                case 6: info.filters.append("scaleoffset")
                case 32000: info.filters.append("lzf")
                default: info.filters.append("filter-\(f)")
                }
            }
            return info
        }
    }

    /// Bytes of raw data the file actually holds for this dataset (`H5Dget_storage_size`): less
    /// than the logical size for chunked datasets with unwritten chunks (read back as the fill
    /// value) or compressed chunks; 0 when nothing was ever written.
    public var storedBytes: Int {
        Int(clamping: H5Dget_storage_size(handle.id))
    }

    /// Number of external raw-data files (`H5Pset_external`): such a dataset's elements are read
    /// from other files on disk, named by the file itself.
    public var externalFileCount: Int {
        get throws {
            let dcpl = plistHandle(try check(H5Dget_create_plist(handle.id), "H5Dget_create_plist", path))
            return Int(max(0, H5Pget_external_count(dcpl.id)))
        }
    }

    /// File offset of the raw data of a contiguous, allocated, unfiltered dataset (nil otherwise):
    /// such data can be read directly from the file, bypassing HDF5's copy path.
    public func contiguousDataOffset() throws -> Int? {
        let info = try storage
        guard info.layout == "contiguous", info.filters.isEmpty else { return nil }
        let addr = H5Dget_offset(handle.id)
        // HADDR_UNDEF is ((haddr_t)(-1)): not allocated (or not contiguous).
        guard addr != haddr_t.max, addr <= haddr_t(Int.max) else { return nil }
        return Int(addr)
    }

    /// Reads every element as Float64 in C order; HDF5 converts from the stored type (any float
    /// or integer width, either byte order).
    public func readDoubles() throws -> [Double] {
        let n = try shape.reduce(1, *)
        return try [Double](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0 {
                try check(H5Dread(handle.id, sa_H5T_NATIVE_DOUBLE(), sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), buf.baseAddress),
                          "H5Dread", path)
            }
            count = n
        }
    }

    /// Reads every element as Float32 in C order (HDF5 converts; f64 rounds).
    public func readFloats() throws -> [Float] {
        let n = try shape.reduce(1, *)
        return try [Float](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0 {
                try check(H5Dread(handle.id, sa_H5T_NATIVE_FLOAT(), sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), buf.baseAddress),
                          "H5Dread", path)
            }
            count = n
        }
    }

    /// Reads the elements as stored but in native byte order (`H5Tget_native_type`), as raw bytes.
    public func readNativeBytes() throws -> [UInt8] {
        let n = try shape.reduce(1, *)
        let t = typeHandle(try check(H5Dget_type(handle.id), "H5Dget_type", path))
        let native = typeHandle(try check(H5Tget_native_type(t.id, H5T_DIR_ASCEND), "H5Tget_native_type", path))
        let size = H5Tget_size(native.id)
        return try [UInt8](unsafeUninitializedCapacity: n * size) { buf, count in
            if n > 0 {
                try check(H5Dread(handle.id, native.id, sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), buf.baseAddress),
                          "H5Dread", path)
            }
            count = n * size
        }
    }

    /// Overwrites every element with `bytes` given exactly as the file stores them (the dataset's
    /// own datatype, byte order included, C order): no conversion, so the written values are
    /// bit for bit the bytes given. Used to put repaired weights back into a copy of a model.
    public func writeStoredBytes(_ bytes: UnsafeRawBufferPointer) throws {
        let n = try shape.reduce(1, *)
        let t = typeHandle(try check(H5Dget_type(handle.id), "H5Dget_type", path))
        let size = H5Tget_size(t.id)
        guard bytes.count == n * size else {
            throw HDF5Error(operation: "H5Dwrite", target: path, stack: ["\(bytes.count) bytes for \(n * size) expected"])
        }
        if n == 0 { return }
        try check(H5Dwrite(handle.id, t.id, sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), bytes.baseAddress), "H5Dwrite", path)
    }

    /// Reads a string dataset (scalar or 1-D; fixed or variable length).
    public func readStrings() throws -> [String] {
        let t = typeHandle(try check(H5Dget_type(handle.id), "H5Dget_type", path))
        let s = spaceHandle(try check(H5Dget_space(handle.id), "H5Dget_space", path))
        let count = Int(try check(H5Sget_simple_extent_npoints(s.id), "H5Sget_simple_extent_npoints", path))
        guard H5Tget_class(t.id) == H5T_STRING else {
            throw HDF5Error(operation: "H5Dread", target: path, stack: ["dataset is not a string"])
        }
        return try readStringElements(count: count, fileType: t.id, space: s.id, target: path) { mem, buf in
            H5Dread(handle.id, mem, sa_H5S_ALL(), sa_H5S_ALL(), sa_H5P_DEFAULT(), buf)
        }
    }
}

// MARK: - Shared helpers (types, spaces, strings)

private func extent(_ space: hid_t, _ target: String) throws -> [Int] {
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

private func describeType(_ t: hid_t, _ target: String) throws -> HDF5TypeInfo {
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

private func makeSpace(_ shape: [Int]?, _ target: String) throws -> Handle {
    guard let shape else {
        return spaceHandle(try check(H5Screate(H5S_SCALAR), "H5Screate", target))
    }
    var dims = shape.map { hsize_t($0) }
    return spaceHandle(try check(H5Screate_simple(Int32(dims.count), &dims, nil), "H5Screate_simple", target))
}

/// A file (and memory) datatype for `type`: IEEE little-endian floats, two's-complement
/// little-endian integers; f16/bf16 are built as h5py builds f16 (fields, size, bias).
private func makeFileType(_ type: HDF5ScalarType, _ target: String) throws -> Handle {
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

private func variableStringType(_ target: String) throws -> Handle {
    let t = typeHandle(try check(H5Tcopy(sa_H5T_C_S1()), "H5Tcopy", target))
    try check(H5Tset_size(t.id, sa_H5T_VARIABLE()), "H5Tset_size", target)
    try check(H5Tset_cset(t.id, H5T_CSET_UTF8), "H5Tset_cset", target)
    return t
}

private func intermediateGroupsLCPL(_ target: String) throws -> Handle {
    let lcpl = plistHandle(try check(H5Pcreate(sa_H5P_LINK_CREATE()), "H5Pcreate", target))
    try check(H5Pset_create_intermediate_group(lcpl.id, 1), "H5Pset_create_intermediate_group", target)
    return lcpl
}

/// Calls `body` with a `char*[]` of NUL-terminated UTF-8 copies of `strings`.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafeMutableRawPointer) throws -> R) throws -> R {
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
private func readStringElements(count: Int, fileType: hid_t, space: hid_t, target: String,
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
