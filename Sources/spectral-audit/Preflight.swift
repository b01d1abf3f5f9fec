import ArgumentParser
import ChildProcesses
import Foundation
import ReportWriters
import WeightFiles

/// libhdf5 1.10 has open memory-safety bugs on hostile files (heap overflows in `H5HG_read`
/// while reading variable-length strings; fixtures/README-hostile.md). A crash inside a C library
/// cannot be caught, so every HDF5-based input is first read in a child process — this same
/// binary, hidden command `__probe` — doing every libhdf5 read the parent will do: a model (HDF5
/// file or `.keras` zip) is opened and listed, its stored audit (`/spectral_audit/report_json`,
/// read by `inspect`) is read, and — when the parent will read tensors (the audit, `inspect
/// --load-all`) — every tensor libhdf5 itself reads (all but the contiguous, unfiltered datasets
/// of a file on disk, decoded from the mapping) is read once, as the parent will; a `--baseline`
/// HDF5 file is loaded as a baseline. A child killed by a signal turns into the usual one-line refusal (exit 65)
/// instead of a crash of the audit. A child that refused the file (exit 65/66, e.g. the HDF5
/// watchdog's deadline) passes its one-line message on, so a hanging file costs one deadline, not
/// two; a clean child lets the work proceed in-process. Each stage the parent will repeat must
/// also fit `HDF5MemoryBudget` (the child measures its own peak memory per stage, `PeakMemory`): a
/// small file whose metadata makes libhdf5 take gigabytes is refused (exit 65) instead of being
/// read again in-process.
enum Preflight {
    static let commandName = "__probe"

    /// How the parent will read the model's tensors, which the probe then does first.
    enum TensorReads: String, ExpressibleByArgument {
        case none, float64, float32
    }

    /// A model file: the audit reads its tensors as Float64, `inspect --load-all` as Float32,
    /// plain `inspect` not at all. Returns false when the child found the stored audit
    /// (`/spectral_audit/report_json`) unreadable: libhdf5 can take gigabytes before it gives up on
    /// a corrupt one (a 45 KB file: 1.85 GB in `H5HG_read`), so the parent does not read it again
    /// (`inspect` then shows no stored audit, as for any unreadable one).
    @discardableResult
    static func checkModel(_ path: String, tensors: TensorReads) throws -> Bool {
        guard let prefix = try? ModelFile.readPrefix(path, count: 8) else { return true }
        let hdf5 = prefix.starts(with: [0x89, 0x48, 0x44, 0x46])
        let keras = prefix.starts(with: [0x50, 0x4B]) && ((try? ModelFile.isKerasZip(path)) ?? false)
        guard hdf5 || keras else { return true }
        let stderr = try probe(path, arguments: ["--tensors", tensors.rawValue, path])
        return !stderr.split(separator: "\n").contains { $0 == unreadableAuditMarker }
    }

    /// The child's stderr line saying the stored audit could not be read.
    static let unreadableAuditMarker = "__probe: stored audit unreadable"

    /// A `--baseline` file: only an HDF5 one goes through libhdf5.
    static func checkBaseline(_ path: String) throws {
        guard let prefix = try? ModelFile.readPrefix(path, count: 8),
              prefix.starts(with: [0x89, 0x48, 0x44, 0x46]) else { return }
        try probe(path, arguments: ["--baseline", path])
    }

    /// Runs the child; returns its stderr when it ended cleanly.
    @discardableResult
    private static func probe(_ path: String, arguments: [String]) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        guard let child = ChildProcess.run(executable: "/proc/self/exe", arguments: [commandName] + arguments,
                                           environment: environment) else {
            return "" // cannot spawn (e.g. no /proc): audit in-process as before
        }
        switch child.termination {
        case .signal(let signal):
            throw WeightFileError(.malformed, path: path, place: "HDF5 objects",
                                  detail: "libhdf5 crashed reading this file (signal \(signal)); refused")
        case .exit(let status) where status == ExitCodes.malformed || status == ExitCodes.missingInput:
            // The child's one line (a sanitizer build may have written its own warnings first).
            let lines = child.standardError.split(separator: "\n").map(String.init)
            let line = lines.last(where: { $0.hasPrefix("spectral-audit:") }) ?? lines.last ?? ""
            throw Refusal(message: line.trimmingCharacters(in: .whitespacesAndNewlines), status: status)
        case .exit(0):
            return child.standardError
        case .exit(let status) where status == ExitCodes.interrupted || status == ExitCodes.terminated:
            exit(status) // the child saw the same SIGINT/SIGTERM as this process
        case .exit(let status):
            // Neither a listing nor a refusal: the child died another way (a sanitizer's report
            // exits 1, the Swift runtime traps with a signal): the same as a crash.
            throw WeightFileError(.malformed, path: path, place: "HDF5 objects",
                                  detail: "libhdf5 crashed reading this file (exit status \(status)); refused")
        }
    }

    /// The child's own refusal, passed on verbatim.
    struct Refusal: Error {
        var message: String
        var status: Int32
    }
}

/// The child side of `Preflight`: the parent's libhdf5 metadata reads, nothing else.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: Preflight.commandName,
                                                    abstract: "Internal: read a file's HDF5 metadata as the parent will (crash isolation).",
                                                    shouldDisplay: false)

    @Flag(help: "The file is a --baseline, not a model.") var baseline = false
    @Option(help: "How the parent reads the tensors: none, float64, float32.") var tensors = Preflight.TensorReads.float64
    @Argument var file: String

    func run() throws {
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        ProbeMemory.cap(fileSize + ProbeMemory.listingAllowance)
        // Each stage the parent repeats in-process is measured against `HDF5MemoryBudget`: a file
        // that makes libhdf5 take gigabytes is refused here, before the parent reads it.
        if baseline {
            let (_, used) = try PeakMemory.measure { try Baseline.load(file) }
            try HDF5MemoryBudget(fileSize: fileSize).check(used: used, stage: "reading the stored audit", path: file, fileSize: fileSize)
            return
        }
        let (store, listing) = try PeakMemory.measure { try ModelFile.open(file) }
        let largestElements = store.tensors.map(\.elementCount).max() ?? 0
        let budget = HDF5MemoryBudget(fileSize: fileSize, store: store)
        try budget.check(used: listing, stage: "listing the objects", path: file, fileSize: fileSize)
        // Room for the largest tensor as Float64, twice (the array and libhdf5's conversion buffer).
        ProbeMemory.cap(fileSize + ProbeMemory.listingAllowance + largestElements.multipliedReportingOverflow(by: 16).partialValue)
        // The tensors libhdf5 itself reads (not served from the file mapping): its raw-data
        // path has crashes of its own on files whose metadata lists cleanly.
        if tensors != .none, let hdf5 = store as? HDF5TensorStore {
            let (_, used) = PeakMemory.measure { hdf5.readLibraryServedTensors(asFloat32: tensors == .float32) }
            try budget.check(used: used, stage: "reading the tensors", path: file, fileSize: fileSize)
        }
        // `inspect` shows a stored audit; an unreadable one is ignored there, and not read
        // again by the parent (`Preflight.checkModel`'s result), so its cost does not count.
        // Read last: where the high-water mark cannot be reset, its peak inflates no other stage.
        let (readable, used) = PeakMemory.measure { (try? AnnotatedHDF5.readReport(path: file)) != nil }
        if readable {
            try budget.check(used: used, stage: "reading the stored audit", path: file, fileSize: fileSize)
        } else {
            FileHandle.standardError.write(Data((Preflight.unreadableAuditMarker + "\n").utf8))
        }
    }
}

/// libhdf5 can allocate without bound while it spins on a hostile file (a 37 KB file reached
/// 3.9 GB in the 6 s before the watchdog fired; fixtures/README-hostile.md): the probe caps its own
/// address space (`RLIMIT_AS`, soft limit), so such an allocation fails — the probe dies or errs
/// and the parent refuses the file — instead of pressing the machine's memory. Listing gets the
/// file's size + 4 GiB; tensor reads get room for the largest tensor on top. Skipped under
/// AddressSanitizer, whose shadow memory needs terabytes of address space.
enum ProbeMemory {
    static let listingAllowance = 4 << 30

    static func cap(_ bytes: Int) {
        #if os(Linux)
        guard dlsym(nil, "__asan_init") == nil, bytes > 0 else { return }
        var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t.max)  // RLIM_INFINITY
        _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        #endif
    }
}
