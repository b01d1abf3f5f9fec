// libhdf5 calls of HDF5Kit (see HDF5+Calls.swift): every call through `check`.
internal import CHDF5

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
