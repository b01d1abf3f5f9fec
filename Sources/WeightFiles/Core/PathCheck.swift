#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Distinguishes a missing input (exit 66) from one that exists but cannot be read (66) before
/// any reader opens it, so every format reports these the same way. Opens nothing for writing.
public enum PathCheck {
    public static func requireReadableFile(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw WeightFileError(.missing, path: path, place: "path", detail: "no such file")
            }
            throw WeightFileError(.unreadable, path: path, place: "path", detail: String(cString: strerror(code)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw WeightFileError(.unreadable, path: path, place: "path", expected: "a file", found: "a directory")
        }
        guard access(path, R_OK) == 0 else {
            throw WeightFileError(.unreadable, path: path, place: "path", detail: String(cString: strerror(errno)))
        }
    }
}
