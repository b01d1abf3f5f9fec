import ArgumentParser

/// The report files `audit` and `merge` both write (one definition, one validation).
struct ReportOutputOptions: ParsableArguments {
    @Option(help: "Write the full JSON report to PATH ('-' for stdout).")
    var json: String?

    @Option(help: "Write a JUnit XML file (one test case per check).")
    var junit: String?

    @Option(help: "Write a Markdown summary (e.g. to $GITHUB_STEP_SUMMARY).")
    var markdown: String?

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
    func validate(extraStdoutUsers extra: Int = 0, protected: [String] = []) throws {
        let users = [json, junit, markdown, html].filter { $0 == "-" }.count + extra
        if users > 1 { throw ValidationError("only one output may be written to stdout ('-' or --github)") }
        for p in files where protected.contains(p) {
            throw ValidationError("refusing to write an output over the input file '\(p)'")
        }
    }
}
