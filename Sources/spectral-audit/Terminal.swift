import Foundation

/// What the terminal allows: colour on stdout only on a TTY and without `NO_COLOR`; a progress
/// bar on stderr only when stderr is a TTY.
enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    /// https://no-color.org: any non-empty `NO_COLOR` disables colour.
    static var colourAllowed: Bool {
        let v = ProcessInfo.processInfo.environment["NO_COLOR"] ?? ""
        return v.isEmpty
    }

    static func writeStdout(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    static func writeStderr(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}

/// A one-line progress bar on stderr, drawn only on a TTY and only once a run has taken longer
/// than half a second; redrawn at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func update(done: Int, total: Int, label: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(start) > 0.5, now.timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
        lastDraw = now
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        var name = label
        if name.count > 40 { name = "…" + name.suffix(39) }
        Terminal.writeStderr("\r\u{1B}[2K\(bar) \(done)/\(total) \(name)")
        drawn = true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { Terminal.writeStderr("\r\u{1B}[2K") }
        drawn = false
    }
}

/// Progress for logs (issue 15): when stderr is not a terminal (CI), a long run prints one plain
/// line every `interval` seconds (10 s) with the last progress reported, so a 7-minute data audit
/// is visibly alive; a run shorter than the interval prints nothing. The interval can be
/// shortened for tests through the internal `SPECTRAL_AUDIT_PROGRESS_INTERVAL` (seconds).
final class ProgressLog: @unchecked Sendable {
    static let defaultInterval: TimeInterval = 10

    private let lock = NSLock()
    private let stopped = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var state = (done: 0, total: 0, label: "starting")
    private let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
        guard enabled else { return }
        let env = ProcessInfo.processInfo.environment["SPECTRAL_AUDIT_PROGRESS_INTERVAL"].flatMap(Double.init)
        let interval = env.map { $0 > 0 ? $0 : Self.defaultInterval } ?? Self.defaultInterval
        let start = Date()
        Thread.detachNewThread { [self] in
            while stopped.wait(timeout: .now() + interval) == .timedOut {
                lock.lock()
                let s = state
                lock.unlock()
                let elapsed = Int(Date().timeIntervalSince(start).rounded())
                let place = s.total > 0 ? "\(s.done)/\(s.total) \(ReportLine.clean(s.label))" : ReportLine.clean(s.label)
                Terminal.writeStderr("spectral-audit: progress \(place), \(elapsed) s elapsed\n")
            }
            finished.signal()
        }
    }

    func update(done: Int, total: Int, label: String) {
        guard enabled else { return }
        lock.lock()
        state = (done, total, label)
        lock.unlock()
    }

    /// Stops the thread and waits for it, so no line follows the report.
    func stop() {
        guard enabled else { return }
        stopped.signal()
        finished.wait()
    }
}

enum ReportLine {
    /// One line, no control characters (layer names come from the file).
    static func clean(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { u -> Unicode.Scalar in u.value < 0x20 || (0x7F...0x9F).contains(u.value) ? " " : u }))
    }
}
