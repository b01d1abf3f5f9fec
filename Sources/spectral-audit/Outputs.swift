import AuditReport
import Foundation
import ReportWriters

/// Renders the report into every requested output; files are written atomically.
struct Outputs {
    var report: AuditReportV1
    var model: String
    var options: ReportOutputOptions

    var force: Bool { options.force }

    /// Writes every requested report; the table goes to stdout unless `--quiet` or another
    /// output took stdout.
    func write(output: String?, github: Bool) throws {
        if let json = options.json { try emit(try report.jsonData(), to: json) }
        if let junit = options.junit { try emit(Data(JUnitRenderer.render(report).utf8), to: junit) }
        if let markdown = options.markdown {
            let data = Data(MarkdownRenderer.render(report).utf8)
            if options.appends(to: markdown) {
                try AtomicOutput.checkDestination(markdown, force: true, protected: [model])
                try AtomicOutput.append(data, to: markdown)
            } else {
                try emit(data, to: markdown)
            }
        }
        if let html = options.html { try emit(Data(HTMLRenderer.render(report).utf8), to: html) }
        if let output {
            try AnnotatedHDF5.write(report: report, modelPath: model, to: output, force: force,
                                    commandLine: CommandLine.arguments)
        }
        if github { Terminal.writeStdout(GitHubAnnotationsRenderer.render(report)) }
        if !options.quiet && !options.stdoutTaken {
            Terminal.writeStdout(TextRenderer.render(report, colour: Terminal.stdoutIsTTY && Terminal.colourAllowed))
        }
    }

    private func emit(_ data: Data, to path: String) throws {
        if path == "-" {
            FileHandle.standardOutput.write(data)
        } else {
            try AtomicOutput.checkDestination(path, force: force, protected: [model])
            try AtomicOutput.write(data, to: path)
        }
    }
}
