import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes by `posix_spawn` + `waitpid`, for crash isolation: the CLI's HDF5 preflight
/// (`Preflight`) and the `hdf5` fuzz target's containment server (`HDF5Containment`).
/// Foundation's `Process.waitUntilExit` on Linux polls a run loop and added about 50 ms to every
/// preflight; this costs the child's own time.
public struct ChildProcess: Sendable {
    /// How a child ended.
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exit(Int32)
        case signal(Int32)

        public var description: String {
            switch self {
            case .exit(let status): "exit \(status)"
            case .signal(let signal): "signal \(signal)"
            }
        }
    }

    /// Where one of the child's standard descriptors points.
    public enum Redirect: Sendable {
        case devNull
        case inherit
        /// This descriptor of the parent (dup2'ed; it should be close-on-exec in the parent).
        case descriptor(Int32)
    }

    public let termination: Termination
    public let standardError: String

    /// Runs a child to completion with stdin and stdout on /dev/null and stderr captured (at
    /// most 64 KiB kept). nil when the child cannot be spawned.
    public static func run(executable: String, arguments: [String], environment: [String: String]) -> ChildProcess? {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { return nil }
        // Neither end leaks into the child as such (dup2 onto fd 2 clears the flag on the copy).
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(pipeFDs[0]) }
        let pid = spawn(executable: executable, arguments: arguments, environment: environment,
                        standardInput: .devNull, standardOutput: .devNull, standardError: .descriptor(pipeFDs[1]))
        close(pipeFDs[1])
        guard let pid else { return nil }

        var captured: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if n > 0 {
                // One line is expected; keep at most 64 KiB of whatever the child writes.
                if captured.count < 65_536 { captured += buffer[0..<n] }
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        guard let termination = wait(pid) else { return nil }
        return ChildProcess(termination: termination, standardError: String(decoding: captured, as: UTF8.self))
    }

    /// Starts a child. It begins with no blocked signals and every signal at its default
    /// action (the parent may ignore SIGPIPE or hold SIGINT/SIGTERM handlers). nil when
    /// `posix_spawn` fails.
    public static func spawn(executable: String, arguments: [String], environment: [String: String],
                             standardInput: Redirect, standardOutput: Redirect, standardError: Redirect) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, redirect) in [(Int32(0), standardInput), (1, standardOutput), (2, standardError)] {
            switch redirect {
            case .inherit: break
            case .devNull: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        return posix_spawn(&pid, executable, &actions, &attributes, argv, envp) == 0 ? pid : nil
    }

    /// Waits for `pid` (retrying on EINTR). nil if it is not this process's child.
    public static func wait(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return nil }
        }
        return termination(status)
    }

    /// WIFEXITED / WEXITSTATUS / WTERMSIG are macros: the status word decoded by hand.
    static func termination(_ status: Int32) -> Termination {
        let signal = status & 0x7F
        return signal == 0 ? .exit((status >> 8) & 0xFF) : .signal(signal)
    }
}
