// libhdf5 calls of HDF5Kit (see HDF5+Calls.swift): every call through `check`.
internal import CHDF5

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
