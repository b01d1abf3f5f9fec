import Foundation
import ReportWriters

/// SIGINT/SIGTERM: remove temporary output files still being written, then exit 130/143, so an
/// interrupted run never leaves a partial file under a final name nor a stray temporary.
enum Interrupts {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for (sig, code) in [(SIGINT, ExitCodes.interrupted), (SIGTERM, ExitCodes.terminated)] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                AtomicOutput.removeInFlightBeforeExit()
                FileHandle.standardError.write(Data("\nspectral-audit: interrupted; the output being written was removed (finished outputs are complete)\n".utf8))
                _exit(code)
            }
            source.resume()
            sources.append(source)
        }
    }
}
