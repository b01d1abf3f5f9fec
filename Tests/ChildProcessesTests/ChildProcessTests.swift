import ChildProcesses
import Foundation
import XCTest

final class ChildProcessTests: XCTestCase {
    func testExitStatusAndStderrAreCaptured() throws {
        let child = try XCTUnwrap(ChildProcess.run(executable: "/bin/sh", arguments: ["-c", "echo out; echo 'one line' >&2; exit 3"],
                                                   environment: [:]))
        XCTAssertEqual(child.termination, .exit(3))
        XCTAssertEqual(child.standardError, "one line\n")  // stdout went to /dev/null
    }

    func testDeathBySignalIsReportedAsSignal() throws {
        let child = try XCTUnwrap(ChildProcess.run(executable: "/bin/sh", arguments: ["-c", "kill -SEGV $$"], environment: [:]))
        XCTAssertEqual(child.termination, .signal(SIGSEGV))
        XCTAssertEqual(child.termination.description, "signal 11")
    }

    /// The parent ignoring a signal must not leak into the child: it starts with defaults.
    func testChildStartsWithDefaultSignalDispositions() throws {
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        let child = try XCTUnwrap(ChildProcess.run(executable: "/bin/sh", arguments: ["-c", "kill -TERM $$; exit 0"], environment: [:]))
        XCTAssertEqual(child.termination, .signal(SIGTERM))
    }

    func testEnvironmentIsPassed() throws {
        let child = try XCTUnwrap(ChildProcess.run(executable: "/bin/sh", arguments: ["-c", "echo \"$PROBE\" >&2"],
                                                   environment: ["PROBE": "value 1"]))
        XCTAssertEqual(child.standardError, "value 1\n")
    }

    func testMissingExecutableIsNil() {
        XCTAssertNil(ChildProcess.run(executable: "/nonexistent/binary", arguments: [], environment: [:]))
    }
}
