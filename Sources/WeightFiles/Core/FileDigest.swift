internal import CCrypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Digests of input files, recorded in every report.
public enum FileDigest {
    /// Bytes read per `read(2)` call.
    static let chunkSize = 2 << 20

    /// SHA-256 of the file at `path`, streamed in 2 MiB chunks through OpenSSL's EVP
    /// interface, as 64 lowercase hexadecimal digits.
    /// - Throws: `WeightFileError` `.missing` / `.unreadable` (also for I/O errors while reading).
    public static func sha256(path: String) throws -> String {
        try sha256(path: path, isCancelled: { false })
    }

    /// The same; `isCancelled` is polled between chunks and ends the read early (the result is
    /// then meaningless and must not be used).
    public static func sha256(path: String, isCancelled: () -> Bool) throws -> String {
        let fd = try FileBytes.openReadOnly(path)
        defer { _ = close(fd) }
        guard let ctx = EVP_MD_CTX_new() else {
            throw WeightFileError(.unreadable, path: path, place: "file", detail: "OpenSSL could not allocate a digest context")
        }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            throw WeightFileError(.unreadable, path: path, place: "file", detail: "OpenSSL SHA-256 initialisation failed")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        var offset = 0
        while !isCancelled() {
            let n = read(fd, buffer, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw WeightFileError(.unreadable, path: path, place: "byte \(offset)",
                                      detail: "read failed (\(FileBytes.describe(errno)))")
            }
            if n == 0 { break }
            guard EVP_DigestUpdate(ctx, buffer, n) == 1 else {
                throw WeightFileError(.unreadable, path: path, place: "byte \(offset)", detail: "OpenSSL SHA-256 update failed")
            }
            offset += n
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &digest, &length) == 1, length == 32 else {
            throw WeightFileError(.unreadable, path: path, place: "file", detail: "OpenSSL SHA-256 finalisation failed")
        }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in digest.prefix(32) {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
