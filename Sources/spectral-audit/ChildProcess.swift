import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process run to completion with `posix_spawn` + `waitpid`: stdin and stdout on
/// /dev/null, stderr captured. Foundation's `Process.waitUntilExit` on Linux polls a run loop
/// and added about 50 ms to every HDF5 preflight (`Preflight`); this costs the child's own time.
struct ChildProcess {
    enum Termination: Equatable {
        case exit(Int32)
        case signal(Int32)
    }

    let termination: Termination
    let standardError: String

    /// nil when the child cannot be spawned.
    static func run(executable: String, arguments: [String], environment: [String: String]) -> ChildProcess? {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { return nil }
        // Neither end leaks into the child as such (dup2 onto fd 2 clears the flag on the copy).
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { if pipeFDs[0] >= 0 { close(pipeFDs[0]) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)

        // The child starts with no blocked signals and every signal at its default action (the
        // parent may ignore SIGPIPE or hold SIGINT/SIGTERM handlers; see Interrupts).
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
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(pipeFDs[1])
        guard spawned == 0 else { return nil }

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
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return nil }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros: decoded from the status word by hand.
        let signal = status & 0x7F
        let termination: Termination = signal == 0 ? .exit((status >> 8) & 0xFF) : .signal(signal)
        return ChildProcess(termination: termination, standardError: String(decoding: captured, as: UTF8.self))
    }
}
