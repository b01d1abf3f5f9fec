/// An open HDF5 file. Read-only unless created by `HDF5File.create`. Objects opened from it keep
/// it alive; its identifier is closed once, by `close()` or when the last reference goes.
public final class HDF5File: @unchecked Sendable {
    let handle: Handle
    /// The path (or, for an in-memory image, the name) it was opened with.
    public let path: String

    init(handle: Handle, path: String) {
        self.handle = handle
        self.path = path
    }
}

/// Anything that carries attributes: groups and datasets.
public protocol HDF5Object: Sendable {
    var objectPath: String { get }
    var handle: Handle { get }
}

/// A group (folder) of an HDF5 file.
public struct HDF5Group: HDF5Object, @unchecked Sendable {
    public let handle: Handle
    public let file: HDF5File
    /// Absolute path inside the file (`/`, `/model_weights/dense`).
    public let path: String

    public var objectPath: String { "\(file.path):\(path)" }

    func childPath(_ name: String) -> String {
        path == "/" ? "/" + name : path + "/" + name
    }
}

/// A dataset (n-dimensional array) of an HDF5 file.
public struct HDF5Dataset: HDF5Object, @unchecked Sendable {
    public let handle: Handle
    public let file: HDF5File
    public let path: String

    public var objectPath: String { "\(file.path):\(path)" }
}
