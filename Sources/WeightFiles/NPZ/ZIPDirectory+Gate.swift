/// The strict zip reading that must pass before ZIPFoundation sees a file.
///
/// ZIPFoundation 0.9.20 traps (a Swift runtime error, not a thrown error) on some malformed
/// central directories: an entry whose offsets do not fit the integer it converts them to
/// ("Not enough bits to represent the passed value" in `Data.readStruct`, found by the `pytorch`
/// fuzz target on 2026-12-06; reproducer fixtures/hostile/fuzz/pytorch/zipfoundation-readstruct-trap.pt).
/// Every path that hands a file to ZIPFoundation (`.keras`, PyTorch zip archives, `.npz`) first
/// reads it with `ZIPDirectory`, which checks every offset and size against the file, so
/// ZIPFoundation only ever iterates a directory already known to be well-formed.
extension ZIPDirectory {
    /// Reads and validates the directory of the zip at `path` (see `read`).
    /// - Throws: `WeightFileError` `.malformed` naming the first bad record.
    @discardableResult
    static func validate(path: String, limits: ReaderLimits) throws -> [ZIPMember] {
        let file = try FileBytes(path: path)
        return try read(file, limits: limits)
    }

    /// True when the zip at `path` has a well-formed directory; never throws.
    static func isWellFormed(path: String, limits: ReaderLimits = ReaderLimits()) -> Bool {
        (try? validate(path: path, limits: limits)) != nil
    }
}
