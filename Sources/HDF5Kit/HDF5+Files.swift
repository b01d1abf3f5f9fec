// libhdf5 calls of HDF5Kit (see HDF5+Calls.swift): every call through `check`.
internal import CHDF5

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
