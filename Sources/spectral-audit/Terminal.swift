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
