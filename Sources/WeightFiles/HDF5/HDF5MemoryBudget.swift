/// How much resident memory libhdf5 may take to read one HDF5 input before the CLI refuses it.
///
/// libhdf5 1.10 allocates, and touches, what a corrupt file's metadata declares before it gives
/// up: a 45 KB annotated file whose stored report's global heap is corrupt took 1.85 GB in
/// `H5HG_read` (fixtures/README-hostile.md). Reading a well-formed file needs its metadata (small),
/// the file's image when it is held in memory (a `.keras` zip's member: the extracted bytes, the
/// array handed to libhdf5, its file-image copy and the core driver's: at most 5 copies, 6 allowed),
/// and per tensor read the array plus libhdf5's conversion buffer. So a stage of reading —
/// listing, the tensors libhdf5 serves, a readable stored audit — may take at most
///
///     budget = 256 MiB + 2 · file size + 6 · in-memory image + 16 · (elements of the largest tensor)
///
/// bytes of resident memory (`PeakMemory`: high-water mark after the stage minus resident size
/// before it). The CLI's probe child measures each stage the parent will repeat and refuses a file
/// over budget (exit 65) before the parent reads it in-process; the `hdf5` fuzz target's
/// containment server applies the same rule, so the fuzzer's own process never repeats such a read.
public struct HDF5MemoryBudget: Sendable {
    /// The fixed part: far above any well-formed file's metadata (libhdf5's metadata cache is at
    /// most 32 MiB by default, a Keras `model_config` a few MB), far below a machine's memory.
    public static let allowance = 256 << 20

    public let bytes: Int

    public init(fileSize: Int, inMemoryImageBytes: Int = 0, largestTensorElements: Int = 0) {
        var total = Self.allowance, overflow = false
        for (count, factor) in [(fileSize, 2), (inMemoryImageBytes, 6), (largestTensorElements, 16)] {
            let (term, o1) = max(0, count).multipliedReportingOverflow(by: factor)
            let (sum, o2) = total.addingReportingOverflow(term)
            total = sum
            overflow = overflow || o1 || o2
        }
        bytes = overflow ? Int.max : total
    }

    /// The budget of a listed store (its largest tensor, its in-memory image).
    public init(fileSize: Int, store: any TensorStore) {
        self.init(fileSize: fileSize, inMemoryImageBytes: (store as? HDF5TensorStore)?.inMemoryImageBytes ?? 0,
                  largestTensorElements: store.tensors.map(\.elementCount).max() ?? 0)
    }

    /// Throws the one-line refusal when `used` (bytes; nil = not measurable) exceeds the budget.
    /// Whether a stage that took `used` bytes (nil = not measurable) is within the budget.
    public func admits(_ used: Int?) -> Bool {
        guard let used else { return true }
        return used <= bytes
    }

    public func check(used: Int?, stage: String, path: String, fileSize: Int) throws {
        guard let used, !admits(used) else { return }
        throw WeightFileError(.malformed, path: path, place: "HDF5 objects",
                              detail: "libhdf5 took \(Self.megabytes(used)) of memory \(stage) of this \(Self.megabytes(fileSize)) file, more than the \(Self.megabytes(bytes)) a well-formed file of its size and tensors needs (corrupt or hostile metadata); refused")
    }

    static func megabytes(_ bytes: Int) -> String {
        let mb = Double(bytes) / 1_048_576
        return mb >= 10 ? "\(Int(mb.rounded())) MB" : "\((mb * 100).rounded() / 100) MB"
    }
}
