import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the built `spectral-audit` as a child process and measures it: exit status, wall time and
/// the child's own peak RSS (`wait4`, so one run's memory never hides behind another's).
enum Binary {
    /// The binary under test: `$SPECTRAL_AUDIT_BIN` (e.g. an AddressSanitizer build, see
    /// `make asan-hostile`), else the one SwiftPM built next to this test bundle.
    static let path: String = {
        if let env = ProcessInfo.processInfo.environment["SPECTRAL_AUDIT_BIN"], !env.isEmpty { return env }
        var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            candidates.append(b.bundleURL.deletingLastPathComponent())
        }
        candidates.append(repoRoot.appendingPathComponent(".build/debug"))
        for dir in candidates {
            let p = dir.appendingPathComponent("spectral-audit").path
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: p) {
                return p
            }
        }
        return repoRoot.appendingPathComponent(".build/debug/spectral-audit").path
    }()

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}

struct ChildResult {
    /// Exit code, or 128 + signal when the child was killed by a signal (as a shell reports it).
    var status: Int32
    var signaled: Bool
    var timedOut: Bool
    var seconds: Double
    /// Peak resident set of the child alone, in bytes.
    var peakRSS: Int
    var stdout: String
    var stderr: String

    /// stderr lines, less AddressSanitizer's notice that a huge malloc returned NULL (printed with
    /// `allocator_may_return_null=1`, which `make asan-hostile` sets so that an ASan build fails
    /// such a malloc the way production does).
    var stderrLines: [Substring] {
        stderr.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !($0.hasPrefix("==") && $0.contains("WARNING: AddressSanitizer failed to allocate")) }
    }

    var summary: String {
        "status \(status)\(signaled ? " (signal)" : "")\(timedOut ? " (TIMED OUT)" : ""), \(String(format: "%.2f", seconds)) s, "
            + "peak RSS \(peakRSS >> 20) MiB, stderr: \(stderr.prefix(600))"
    }
}

enum Child {
    /// Whether `pid` has a handler installed for `signal`: its bit in the `SigCgt` mask of
    /// `/proc/PID/status` (Linux). Where there is no such file, true (the delay counts from the start).
    static func catches(pid: pid_t, signal: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return true }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (UInt64(1) << UInt64(signal - 1)) != 0
    }

    /// Runs `argv` (argv[0] a path) in `cwd` with stdout/stderr to files and waits for it.
    /// `signal`: sent once, `after` seconds from the moment the child has installed a handler for
    /// it (Linux: its bit in `SigCgt` of `/proc/PID/status`; elsewhere: from the start), if the
    /// child has not been reaped yet (so the pid can never belong to another process). Counting from
    /// the handler, not the spawn, keeps a loaded machine's slow start-up from turning an early
    /// signal into a default-action kill that no program could have handled.
    static func run(_ argv: [String], cwd: String? = nil, environment: [String: String] = [:],
                    timeout: Double = 10, signal: (number: Int32, after: Double)? = nil) throws -> ChildResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outPath = dir.appendingPathComponent("stdout").path
        let errPath = dir.appendingPathComponent("stderr").path

        var env = ProcessInfo.processInfo.environment
        // A crash must end the child at once (no interactive backtracer) and be seen as a signal.
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in environment { env[k] = v }

        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t? = nil
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // posix_spawn has no portable chdir action: go through /bin/sh when a cwd is wanted.
        var args = argv
        if let cwd {
            args = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", cwd] + argv
        }
        let cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let start = Date()
        let rc = cArgs.withUnsafeBufferPointer { a in
            cEnv.withUnsafeBufferPointer { e in
                posix_spawn(&pid, args[0], &actions, nil, UnsafeMutablePointer(mutating: a.baseAddress!),
                            UnsafeMutablePointer(mutating: e.baseAddress!))
            }
        }
        guard rc == 0 else {
            throw NSError(domain: "Child", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "posix_spawn \(args[0]): \(String(cString: strerror(rc)))"])
        }

        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        var signalSent = false
        var handlerSince: Date? = nil
        while true {
            let w = wait4(pid, &status, WNOHANG, &usage)
            if w == pid { break }
            if w < 0 && errno != EINTR { break }
            if let s = signal, !signalSent {
                if handlerSince == nil, catches(pid: pid, signal: s.number) { handlerSince = Date() }
                if let since = handlerSince, Date().timeIntervalSince(since) >= s.after {
                    kill(pid, s.number)  // not reaped yet: still our child
                    signalSent = true
                }
            }
            if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                break
            }
            usleep(2_000)
        }
        let seconds = Date().timeIntervalSince(start)
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand (macros are not imported).
        let termSignal = status & 0x7F
        let signaled = termSignal != 0 && termSignal != 0x7F
        let code: Int32 = signaled ? 128 + termSignal : (status >> 8) & 0xFF
        #if canImport(Glibc)
        let rss = Int(usage.ru_maxrss) * 1024
        #else
        let rss = Int(usage.ru_maxrss)
        #endif
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return ChildResult(status: code, signaled: signaled, timedOut: timedOut, seconds: seconds,
                           peakRSS: rss, stdout: out, stderr: err)
    }
}

/// A fresh folder per test, removed afterwards.
final class ScratchFolder {
    let url: URL
    var path: String { url.path }

    init(_ tag: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func contents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    deinit {
        chmod(path, 0o755)
        try? FileManager.default.removeItem(at: url)
    }
}

/// Sanity checks of the harness itself.
final class HostileSupportTests: XCTestCase {
    func testBinaryIsFound() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Binary.path),
                      "spectral-audit not found at \(Binary.path); build it or set SPECTRAL_AUDIT_BIN")
        let r = try Child.run([Binary.path, "--version"])
        XCTAssertEqual(r.status, 0, r.summary)
    }

    func testChildReportsSignalsAndExitCodes() throws {
        let a = try Child.run(["/bin/sh", "-c", "exit 65"])
        XCTAssertEqual(a.status, 65)
        XCTAssertFalse(a.signaled)
        let b = try Child.run(["/bin/sh", "-c", "kill -TERM $$"])
        XCTAssertEqual(b.status, 143)
        XCTAssertTrue(b.signaled)
        let c = try Child.run(["/bin/sleep", "5"], timeout: 0.3)
        XCTAssertTrue(c.timedOut)
    }
}
