import AuditReport
import Foundation
import ReportWriters

/// Renders the report into every requested output; files are written atomically.
struct Outputs {
    var report: AuditReportV1
    var model: String
    var force: Bool

    func write(json: String?, junit: String?, markdown: String?, html: String?, output: String?, github: Bool,
               table: Bool) throws {
        if let json { try emit(try report.jsonData(), to: json) }
        if let junit { try emit(Data(JUnitRenderer.render(report).utf8), to: junit) }
        if let markdown { try emit(Data(MarkdownRenderer.render(report).utf8), to: markdown) }
        if let html { try emit(Data(HTMLRenderer.render(report).utf8), to: html) }
        if let output {
            try AnnotatedHDF5.write(report: report, modelPath: model, to: output, force: force,
                                    commandLine: CommandLine.arguments)
        }
        if github { Terminal.writeStdout(GitHubAnnotationsRenderer.render(report)) }
        if table {
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
