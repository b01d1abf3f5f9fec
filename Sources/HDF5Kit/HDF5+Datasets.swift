// libhdf5 calls of HDF5Kit (see HDF5+Calls.swift): every call through `check`.
internal import CHDF5

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
