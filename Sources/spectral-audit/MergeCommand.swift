import ArgumentParser
import Audit
import AuditReport
import Foundation
import ReportWriters

/// `spectral-audit merge REPORTS... [--json OUT]`: partial reports of `--shard I/N` audits → the
/// whole report, byte-identical to an unsharded audit with the same options.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the partial JSON reports of 'spectral-audit MODEL --shard I/N' runs into the whole report."
    )

    @Argument(help: "The partial JSON reports, one per shard, in any order.")
    var reports: [String]

    @Option(help: "The model file, when it has moved since the partial audits (default: the path in the reports; its sha256 must match).")
    var model: String?

    @OptionGroup var outputs: ReportOutputOptions

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("merge needs at least one partial report") }
        try outputs.validate(protected: reports)
    }

    func run() throws {
        let partial = try reports.map { path -> AuditReportV1 in
            do {
                return try AuditReportV1.decode(try readInput(path))
            } catch let e as InputFileError {
                throw e
            } catch {
                throw InputFileError(path: path, missing: false, message: "not a spectral-audit JSON report (\(error))")
            }
        }
        let modelPath = model ?? partial.first?.input.path ?? ""
        for p in outputs.files {
            try AtomicOutput.checkDestination(p, force: outputs.force || outputs.appends(to: p), protected: [modelPath] + reports)
        }
        let report: AuditReportV1
        do {
            try ReportMerge.validate(partial, paths: reports)
            var configuration = try ReportMerge.configuration(from: partial[0])
            configuration.jobs = 1
            if let p = configuration.policyPath {
                configuration.policy = try Policy.parse(try readInput(p), path: p)
            }
            if let b = configuration.baselinePath {
                configuration.baseline = try Baseline.load(b)
            }
            report = try ReportMerge.merge(partial, modelPath: model, configuration: configuration, paths: reports)
        } catch let e as ReportMergeError {
            throw AuditError.input("cannot merge: \(e.message)")
        }
        try Outputs(report: report, model: modelPath, options: outputs).write(output: nil, github: false)
        throw ExitCode(report.verdict == .pass ? ExitCodes.pass : ExitCodes.auditFailed)
    }
}
