import ArgumentParser
import Audit
import Foundation
import HDF5Kit
import ReportWriters
import ModelBuilder
import SpectralModel
import WeightFiles

/// Exit codes (documented in spectral-audit(1)); CI pipelines read them.
enum ExitCodes {
    static let pass: Int32 = 0
    static let auditFailed: Int32 = 1
    static let usage: Int32 = 2
    static let malformed: Int32 = 65   // EX_DATAERR
    static let missingInput: Int32 = 66 // EX_NOINPUT
    static let internalError: Int32 = 70 // EX_SOFTWARE
    static let cannotCreate: Int32 = 73 // EX_CANTCREAT
    static let interrupted: Int32 = 130
    static let terminated: Int32 = 143

    /// Prints one line for `error` on stderr (help and version on stdout) and exits with its code.
    static func exit(for error: Error) -> Never {
        let code: Int32
        let message: String
        switch error {
        case let e as ExitCode:
            Foundation.exit(e.rawValue)
        case let e as Preflight.Refusal:
            FileHandle.standardError.write(Data((e.message.oneLine + "\n").utf8))
            Foundation.exit(e.status)
        case let e as HDF5Watchdog.Stall:
            // A guarded libhdf5 call overran its deadline and then returned (the handler in
            // `main` normally ends the process first).
            code = malformed
            message = e.description
        case let e as WeightFileError:
            code = (e.kind == .missing || e.kind == .unreadable) ? missingInput : malformed
            message = e.description
        case let e as AtomicOutput.Failure:
            code = cannotCreate
            message = e.description
        case let e as Policy.ParseError:
            code = malformed
            message = e.description
        case let e as ArchitectureManifest.Invalid:
            code = malformed
            message = e.description
        case let e as InputFileError:
            code = e.missing ? missingInput : malformed
            message = e.description
        case let e as AuditError:
            if case .usage = e { code = usage } else { code = malformed }
            message = e.description
        case let e as DataAuditError:
            // The probe data cannot be used with this model (shape, layout, uncovered layers).
            code = malformed
            message = "data audit: " + e.description
        default:
            let parserCode = SpectralAudit.exitCode(for: error)
            let text = SpectralAudit.fullMessage(for: error)
            if parserCode == .success {
                if !text.isEmpty { print(text) }
                Foundation.exit(0)
            }
            if error is CleanExit || parserCode.rawValue == 0 { Foundation.exit(0) }
            if parserCode == .validationFailure || error is ValidationError || isParserError(error) {
                FileHandle.standardError.write(Data((text + "\n").utf8))
                Foundation.exit(usage)
            }
            if let e = error as? ExitCode { Foundation.exit(e.rawValue) }
            code = internalError
            message = "internal error: \(error)"
        }
        FileHandle.standardError.write(Data(("spectral-audit: " + message.oneLine + "\n").utf8))
        Foundation.exit(code)
    }

    private static func isParserError(_ error: Error) -> Bool {
        String(reflecting: type(of: error)).contains("ArgumentParser")
    }
}

/// A problem with an auxiliary input (policy, baseline, probe data): names the file.
struct InputFileError: Error, CustomStringConvertible {
    var path: String
    var missing: Bool
    var message: String
    var description: String { "\(path): \(message)" }
}

extension String {
    /// Diagnostics are one line whatever their source: line breaks become spaces.
    var oneLine: String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
