import Foundation

/// Kernel-side file copy (`sendfile`), the way `cp` copies: no user-space buffer for the data.
enum FileCopy {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func copy(from source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure(description: "\(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw Failure(description: "\(destination): \(String(cString: strerror(errno)))") }
        defer { close(output) }
        var st = stat()
        guard fstat(input, &st) == 0 else { throw Failure(description: "\(source): \(String(cString: strerror(errno)))") }
        var remaining = Int(st.st_size)
        while remaining > 0 {
            let n = sendfile(output, input, nil, min(remaining, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "\(destination): \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw Failure(description: "\(source): file shrank while being copied") }
            remaining -= n
        }
    }
}
