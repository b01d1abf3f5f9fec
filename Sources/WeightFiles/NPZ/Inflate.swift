import Foundation
// zlib is reached through the system-library module ZIPFoundation itself uses on Linux
// (`CZlib`) or the SDK's `zlib` module on Apple platforms.
#if canImport(CZlib)
import CZlib
#elseif canImport(zlib)
import zlib
#endif
internal import CDeflate

/// Raw-deflate decompression and CRC-32 over memory-mapped zip members, bounded on both sides.
///
/// Why not ZIPFoundation's `Archive.extract` / `Data.decompress` here: on Linux (0.9.20) they
/// hand zlib a fixed `avail_in` even for a short final chunk and loop until `Z_STREAM_END`,
/// so a truncated deflate stream at the end of a file spins forever; and their CRC-32 is a
/// byte-at-a-time Swift loop. Here every byte zlib may read or write lies inside the member.
enum Inflate {
    enum Failure: Error {
        case corrupt(String)
        case truncated
        case longerThanDeclared
        case trailingInput
    }

    /// zlib counts in 32-bit `uInt`; feed it at most this much at a time.
    private static let step = 1 << 30

    /// Inflates `input` into `output`.
    /// - Parameter wholeStream: true: the stream must produce exactly `output.count` bytes,
    ///   end, and consume all of `input`. false: stop once `output` is full (a prefix).
    /// - Returns: bytes written (less than `output.count` only for a prefix of a short stream).
    static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                        wholeStream: Bool) throws(Failure) -> Int {
        var s = z_stream()
        guard inflateInit2_(&s, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not be initialised")
        }
        defer { inflateEnd(&s) }
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        var inFed = 0
        var outFed = 0
        var probing = false
        var stalls = 0
        while true {
            if s.avail_in == 0, inFed < input.count, let base = input.baseAddress {
                let n = min(step, input.count - inFed)
                s.next_in = UnsafeMutablePointer(mutating: (base + inFed).assumingMemoryBound(to: UInt8.self))
                s.avail_in = uInt(n)
                inFed += n
            }
            if s.avail_out == 0 && !probing {
                if outFed < output.count, let base = output.baseAddress {
                    let n = min(step, output.count - outFed)
                    s.next_out = (base + outFed).assumingMemoryBound(to: UInt8.self)
                    s.avail_out = uInt(n)
                    outFed += n
                } else if !wholeStream {
                    return output.count
                } else {
                    // Output is full: one more byte would mean the member is longer than declared.
                    probing = true
                    s.next_out = scratch
                    s.avail_out = 1
                }
            }
            let before = (s.avail_in, s.avail_out)
            let r = CZlibCompat.inflate(&s)
            if probing && s.avail_out == 0 { throw .longerThanDeclared }
            switch r {
            case Z_STREAM_END:
                let produced = probing ? output.count : outFed - Int(s.avail_out)
                if wholeStream {
                    guard produced == output.count else { throw .truncated }
                    guard s.avail_in == 0, inFed == input.count else { throw .trailingInput }
                }
                return produced
            case Z_OK, Z_BUF_ERROR:
                if s.avail_in == 0 && inFed == input.count && (s.avail_out > 0 || probing) {
                    // Input exhausted, room for output, stream not ended.
                    if r == Z_BUF_ERROR || before == (s.avail_in, s.avail_out) { throw .truncated }
                }
                stalls = before == (s.avail_in, s.avail_out) ? stalls + 1 : 0
                if stalls > 2 { throw .corrupt("zlib made no progress") }
            default:
                let message = s.msg.map { String(cString: $0) } ?? "zlib error \(r)"
                throw .corrupt(message)
            }
        }
    }

    /// The zip CRC-32 of `bytes`, computed by libdeflate (carry-less multiplication folding; about
    /// 2.5× zlib's table-driven CRC on this machine, which was the bottleneck of npz loads). Large
    /// buffers are checksummed in slices on the available cores and the slice CRCs joined with
    /// zlib's `crc32_combine` (the same value as one pass; tested against zlib's `crc32`).
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        crc32(bytes, copyingFrom: bytes.count, to: nil)
    }

    /// The CRC-32 of all of `bytes` and, when `destination` is given, a copy of `bytes[copyFrom...]`
    /// into it, in one pass: each core takes a slice and works through it in 256 KiB blocks,
    /// checksumming a block and then copying it while it is still in cache (the member is read from
    /// memory once, not twice). Same value as zlib's one-pass CRC (tested).
    static func crc32(_ bytes: UnsafeRawBufferPointer, copyingFrom copyFrom: Int, to destination: UnsafeMutableRawPointer?) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        precondition(copyFrom >= 0 && copyFrom <= bytes.count)
        let total = bytes.count
        let slices = total >= parallelThreshold ? min(ProcessInfo.processInfo.activeProcessorCount, 8) : 1
        let sliceLength = (total + slices - 1) / slices
        let parts = CRCParts(count: slices)
        let source = UInt(bitPattern: base), target = destination.map { UInt(bitPattern: $0) }
        let block = 256 << 10
        let work: @Sendable (Int) -> Void = { k in
            let start = k * sliceLength
            let end = min(total, start + sliceLength)
            guard start < end else { return }
            var c: uLong = 0
            var at = start
            while at < end {
                let n = min(block, end - at)
                let from = UnsafeRawPointer(bitPattern: source)! + at
                c = serialCRC(c, from, n)
                // The part of this block at or after `copyFrom`, copied to its place.
                let lo = max(at, copyFrom), hi = at + n
                if let target, lo < hi {
                    (UnsafeMutableRawPointer(bitPattern: target)! + (lo - copyFrom))
                        .copyMemory(from: UnsafeRawPointer(bitPattern: source)! + lo, byteCount: hi - lo)
                }
                at += n
            }
            parts.set(k, c, end - start)
        }
        if slices == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: slices, execute: work) }
        var c: uLong = 0
        for k in 0..<slices where parts.lengths[k] > 0 {
            c = k == 0 ? parts.crcs[0] : CZlibCompat.combine(c, parts.crcs[k], parts.lengths[k])
        }
        return UInt32(truncatingIfNeeded: c)
    }

    /// Buffers from this size up are checksummed in parallel slices.
    static let parallelThreshold = 8 << 20

    private static func serialCRC(_ start: uLong, _ base: UnsafeRawPointer, _ count: Int) -> uLong {
        uLong(libdeflate_crc32(UInt32(truncatingIfNeeded: start), base, count))
    }
}

/// Per-slice results of a parallel CRC.
private final class CRCParts: @unchecked Sendable {
    private(set) var crcs: [uLong]
    private(set) var lengths: [Int]
    private let lock = NSLock()

    init(count: Int) {
        crcs = Array(repeating: 0, count: count)
        lengths = Array(repeating: 0, count: count)
    }

    func set(_ k: Int, _ crc: uLong, _ length: Int) {
        lock.lock()
        crcs[k] = crc
        lengths[k] = length
        lock.unlock()
    }
}

/// Free functions whose names clash with `Inflate`'s own.
private enum CZlibCompat {
    static func inflate(_ s: inout z_stream) -> Int32 {
        #if canImport(CZlib)
        return CZlib.inflate(&s, Z_NO_FLUSH)
        #else
        return zlib.inflate(&s, Z_NO_FLUSH)
        #endif
    }

    static func combine(_ a: uLong, _ b: uLong, _ lengthB: Int) -> uLong {
        #if canImport(CZlib)
        return CZlib.crc32_combine(a, b, off_t(lengthB))
        #else
        return zlib.crc32_combine(a, b, off_t(lengthB))
        #endif
    }
}
