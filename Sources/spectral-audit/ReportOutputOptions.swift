import ArgumentParser
import Foundation

/// The report files `audit` and `merge` both write (one definition, one validation).
struct ReportOutputOptions: ParsableArguments {
    @Option(help: "Write the full JSON report to PATH ('-' for stdout).")
    var json: String?

    @Option(help: "Write a JUnit XML file (one test case per check).")
    var junit: String?

    @Option(help: "Write a Markdown summary; appended when PATH is $GITHUB_STEP_SUMMARY (e.g. --markdown \"$GITHUB_STEP_SUMMARY\").")
    var markdown: String?

    @Flag(name: .customLong("markdown-append"), help: "Append the --markdown summary to PATH (created when missing) instead of writing a new file.")
    var markdownAppend = false

    @Option(help: "Write a self-contained HTML report with spectra plots.")
    var html: String?

    @Flag(help: "Replace existing output files.")
    var force = false

    @Flag(help: "Do not print the table on stdout.")
    var quiet = false

    /// File destinations (not stdout).
    var files: [String] { [json, junit, markdown, html].compactMap { $0 }.filter { $0 != "-" } }

    /// Whether an output other than the table takes stdout.
    var stdoutTaken: Bool { [json, junit, markdown, html].contains("-") }

    /// At most one output on stdout (`extra` counts other stdout users, e.g. `--github`).
    /// Whether `path` is the Markdown destination and is appended to: with `--markdown-append`,
    /// or when it is the GitHub Actions step summary (`$GITHUB_STEP_SUMMARY`), which the runner
    /// creates empty before each step and other commands of the step may have written to.
    func appends(to path: String) -> Bool {
        guard let m = markdown, m != "-", m == path else { return false }
        return markdownAppend || Self.isStepSummary(m)
    }

    static func isStepSummary(_ path: String) -> Bool {
        guard let env = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !env.isEmpty else { return false }
        let a = URL(fileURLWithPath: env).resolvingSymlinksInPath().standardizedFileURL.path
        let b = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        return a == b
    }

    func validate(extraStdoutUsers extra: Int = 0, protected: [String] = []) throws {
        if markdownAppend && (markdown == nil || markdown == "-") {
            throw ValidationError("--markdown-append needs --markdown PATH (a file)")
        }
        let users = [json, junit, markdown, html].filter { $0 == "-" }.count + extra
        if users > 1 { throw ValidationError("only one output may be written to stdout ('-' or --github)") }
        for p in files where protected.contains(p) {
            throw ValidationError("refusing to write an output over the input file '\(p)'")
        }
    }
}
