import ChildProcesses
import Foundation
import HDF5Kit
import ReportWriters
import WeightFiles
#if canImport(Glibc)
import Glibc
#endif

/// The `hdf5` target judged by the CLI's own guarantee rather than by libhdf5's.
///
/// libhdf5 1.10 crashes and loops on some corrupt files (fixtures/README-hostile.md); the CLI
/// cannot fix that, it contains it: every HDF5 input is first opened and listed in a child
/// process (`Preflight`, the `__probe` command), a crash there becomes a one-line refusal
/// (exit 65), and a libhdf5 call that overruns its deadline ends the process through
/// `HDF5Watchdog` (exit 65). What the CLI does *not* contain is a crash after a clean probe,
/// while the tensors are read in-process. This class replays that sequence for each input in a
/// server process (this binary again, `SPECTRAL_FUZZ_SERVE=hdf5`, a fresh exec so that Dispatch
/// and the watchdog work as in the CLI), which reports the stages it gets through:
///
/// | server outcome | the CLI would | this target |
/// | --- | --- | --- |
/// | crash before the listing completes | refuse (probe child died), exit 65 | contained: return |
/// | a stage over `HDF5MemoryBudget` | refuse (probe child measured it), exit 65 | contained: return |
/// | watchdog deadline, any stage | refuse, exit 65 | contained: return |
/// | crash after a clean listing (tensor reads) | **crash** | confirmed in a fresh server, then `abort()`: a finding |
/// | clean | audit in-process | run in-process (coverage, leaks, sanitizers) |
///
/// A server that dies is restarted for the next input. One server serves many inputs (an exec
/// of the ASan binary costs ~350 ms); a crash that a fresh server does not reproduce depends on
/// state left by earlier inputs, which the CLI (one file per process) never has, and is reported
/// on stderr but not as a finding.
final class HDF5Containment: @unchecked Sendable {
    enum Outcome: Equatable {
        case clean
        case refusedByProbe(String)
        case overMemoryBudget
        case stalled
        case crashedAfterProbe(String)
    }

    /// Environment variable that turns this binary into the server.
    static let serveVariable = "SPECTRAL_FUZZ_SERVE"
    /// Reply bytes: the listing completed, every tensor was read, a deadline fired.
    static let listedByte: UInt8 = 0x4C, doneByte: UInt8 = 0x44, stalledByte: UInt8 = 0x53
    /// Sent before `listedByte` when the probe found the stored audit unreadable (the CLI's
    /// `__probe` says so and the parent does not read it again: `Preflight.checkModel`).
    static let unreadableAuditByte: UInt8 = 0x55
    /// Sent instead of `listedByte` when a stage the CLI's parent repeats took more memory than
    /// `HDF5MemoryBudget` allows: the CLI's child refuses the file (exit 65).
    static let overBudgetByte: UInt8 = 0x4D
    /// Whether the last clean input's stored audit was readable by the probe.
    private(set) var lastStoredAuditReadable = true
    /// The server's exit status after a stall.
    static let stallExit: Int32 = 75
    /// A server silent for this long is a hang the watchdog did not end: a finding.
    static let replyDeadlineMilliseconds: Int32 = 30_000

    static let shared = HDF5Containment()

    private var pid: pid_t = 0
    private var requestFD: Int32 = -1
    private var replyFD: Int32 = -1

    /// How the inputs ended, printed at exit (the campaign's figures).
    private var counts: [String: Int] = [:]

    private init() {
        // A write to a server that just died must fail with EPIPE, not kill the fuzzer.
        signal(SIGPIPE, SIG_IGN)
        atexit { HDF5Containment.shared.printCounts() }
    }

    private func printCounts() {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return }
        let parts = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        FileHandle.standardError.write(Data("hdf5 containment: \(total) inputs: \(parts.joined(separator: ", "))\n".utf8))
    }

    /// Runs `path` through a server; a crash after a clean probe is re-run once in a fresh
    /// server before it is believed.
    func check(_ path: String) -> Outcome {
        let outcome = checkConfirmed(path)
        let key: String
        switch outcome {
        case .clean: key = "clean"
        case .refusedByProbe: key = "refused by the probe (libhdf5 died while listing)"
        case .overMemoryBudget: key = "refused by the probe (a stage over the memory budget)"
        case .stalled: key = "ended by the watchdog (libhdf5 stalled)"
        case .crashedAfterProbe: key = "crashed after a clean probe"
        }
        counts[key, default: 0] += 1
        return outcome
    }

    private func checkConfirmed(_ path: String) -> Outcome {
        let first = runOnce(path)
        guard case .crashedAfterProbe = first else { return first }
        stopServer()
        let again = runOnce(path)
        if case .crashedAfterProbe = again { return again }
        counts["state-dependent crashes not reproduced by a fresh server", default: 0] += 1
        FileHandle.standardError.write(Data("hdf5: a crash after a clean probe did not reproduce in a fresh server (state from earlier inputs); not a finding\n".utf8))
        return again
    }

    private func runOnce(_ path: String) -> Outcome {
        guard startServerIfNeeded() else {
            FileHandle.standardError.write(Data("hdf5: cannot start the containment server\n".utf8))
            abort()
        }
        let request = Array((path + "\n").utf8)
        let written = request.withUnsafeBytes { write(requestFD, $0.baseAddress, $0.count) }
        guard written == request.count else { return reapDeadServer(listed: false) }
        var listed = false
        lastStoredAuditReadable = true
        while true {
            var fds = pollfd(fd: replyFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fds, 1, Self.replyDeadlineMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                FileHandle.standardError.write(Data("hdf5: the server is silent after \(Self.replyDeadlineMilliseconds / 1000) s (a hang the watchdog did not end)\n".utf8))
                abort()
            }
            var byte: UInt8 = 0
            let n = read(replyFD, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return reapDeadServer(listed: listed) }
            switch byte {
            case Self.listedByte: listed = true
            case Self.unreadableAuditByte: lastStoredAuditReadable = false
            case Self.overBudgetByte:
                stopServer()  // a fresh server: its allocator keeps what libhdf5 took
                return .overMemoryBudget
            case Self.doneByte: return .clean
            case Self.stalledByte:
                stopServer()
                return .stalled
            default: continue
            }
        }
    }

    /// The server closed its reply pipe: collect how it ended.
    private func reapDeadServer(listed: Bool) -> Outcome {
        let how = stopServer()
        return listed ? .crashedAfterProbe(how) : .refusedByProbe(how)
    }

    /// Closes the pipes, waits for the server (killing it if it is still running) and says how it ended.
    @discardableResult
    private func stopServer() -> String {
        guard pid > 0 else { return "not running" }
        close(requestFD)
        close(replyFD)
        requestFD = -1
        replyFD = -1
        kill(pid, SIGKILL)  // a no-op on a server that already died (it stays a zombie until reaped)
        let how = ChildProcess.wait(pid)?.description ?? "not a child"
        pid = 0
        return how
    }

    private func startServerIfNeeded() -> Bool {
        if pid > 0 { return true }
        var request: [Int32] = [-1, -1], reply: [Int32] = [-1, -1]
        guard pipe(&request) == 0 else { return false }
        guard pipe(&reply) == 0 else {
            close(request[0]); close(request[1])
            return false
        }
        for fd in request + reply { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var environment = ProcessInfo.processInfo.environment
        environment[Self.serveVariable] = "hdf5"
        environment["SWIFT_BACKTRACE"] = "enable=no"
        // Leaks are looked for in the parent's in-process run of every clean input.
        environment["ASAN_OPTIONS"] = (environment["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "detect_leaks=0"
        // The server's own sanitizer reports and stall lines are expected (they are libhdf5's);
        // SPECTRAL_FUZZ_SERVER_STDERR=1 keeps them for debugging.
        let keepStderr = environment["SPECTRAL_FUZZ_SERVER_STDERR"] != nil
        let child = ChildProcess.spawn(executable: "/proc/self/exe", arguments: [], environment: environment,
                                       standardInput: .descriptor(request[0]), standardOutput: .descriptor(reply[1]),
                                       standardError: keepStderr ? .inherit : .devNull)
        close(request[0])
        close(reply[1])
        guard let child else {
            close(request[1]); close(reply[0])
            return false
        }
        pid = child
        requestFD = request[1]
        replyFD = reply[0]
        return true
    }

    // MARK: Server side

    /// The server loop: one path per line on stdin; for each, the CLI's probe (`ModelFile.open`,
    /// as `__probe` does), then the CLI's reads (open, list, load every tensor); a byte on stdout
    /// after each stage. A watchdog deadline writes the stall byte and exits, as the CLI exits 65.
    static func serve() -> Never {
        HDF5Watchdog.onStall = { _ in
            var byte = HDF5Containment.stalledByte
            _ = write(1, &byte, 1)
            _exit(HDF5Containment.stallExit)
        }
        func reply(_ value: UInt8) {
            var byte = value
            guard write(1, &byte, 1) == 1 else { exit(0) }
        }
        while let path = readLine() {
            guard let auditReadable = probeLikeTheCLI(path) else {
                reply(overBudgetByte)
                continue
            }
            if !auditReadable { reply(unreadableAuditByte) }
            reply(listedByte)
            readLikeTheCLI(path, storedAudit: auditReadable)
            reply(doneByte)
        }
        exit(0)
    }

    /// What the CLI's `__probe` child does before an audit (`ProbeCommand`), stage by stage, each
    /// measured against `HDF5MemoryBudget` as the child does: open and list the model, read every
    /// tensor libhdf5 itself serves, read its stored audit. (A `--baseline` HDF5 file is probed by
    /// `readReport` alone.) Returns whether the stored audit was readable (the CLI's child says so
    /// to its parent), or nil when a stage the parent repeats went over budget (the CLI refuses).
    static func probeLikeTheCLI(_ path: String) -> Bool? {
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let (store, listing) = PeakMemory.measure { try? ModelFile.open(path) }
        let budget = store.map { HDF5MemoryBudget(fileSize: fileSize, store: $0) } ?? HDF5MemoryBudget(fileSize: fileSize)
        guard budget.admits(listing) else { return nil }
        if let hdf5 = store as? HDF5TensorStore {
            guard budget.admits(PeakMemory.measure { hdf5.readLibraryServedTensors() }.bytes) else { return nil }
        }
        let (readable, used) = PeakMemory.measure { (try? AnnotatedHDF5.readReport(path: path)) != nil }
        if readable && !budget.admits(used) { return nil }
        return readable
    }

    /// What the CLI then does in-process: the stored audit (`inspect`, `--baseline`), and the
    /// model opened, listed and every tensor loaded (the audit, `inspect --load-all`).
    static func readLikeTheCLI(_ path: String, storedAudit: Bool) {
        if storedAudit { _ = try? AnnotatedHDF5.readReport(path: path) }
        FuzzTargets.openAndLoad(path, limits: ReaderLimits())
    }
}
