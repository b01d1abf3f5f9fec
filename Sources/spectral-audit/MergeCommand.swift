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

    @Option(help: "Write the merged JSON report to PATH ('-' for stdout).")
    var json: String?

    @Option(help: "Write a JUnit XML file (one test case per check).")
    var junit: String?

    @Option(help: "Write a Markdown summary.")
    var markdown: String?

    @Option(help: "Write a self-contained HTML report.")
    var html: String?

    @Flag(help: "Replace existing output files.")
    var force = false

    @Flag(help: "Do not print the table on stdout.")
    var quiet = false

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("merge needs at least one partial report") }
        let stdoutUsers = [json == "-", junit == "-", markdown == "-", html == "-"].filter { $0 }.count
        if stdoutUsers > 1 { throw ValidationError("only one output may be written to stdout ('-')") }
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
        for p in [html, junit, markdown, json].compactMap({ $0 }) where p != "-" {
            try AtomicOutput.checkDestination(p, force: force, protected: [modelPath] + reports)
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
        try Outputs(report: report, model: modelPath, force: force).write(
            json: json, junit: junit, markdown: markdown, html: html, output: nil, github: false,
            table: !quiet && ![json, junit, markdown, html].contains("-"))
        throw ExitCode(report.verdict == .pass ? ExitCodes.pass : ExitCodes.auditFailed)
    }
}
