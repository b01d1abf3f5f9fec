import AuditReport

/// JUnit XML for CI test reporters: one `<testsuite name="spectral-audit">` with one `<testcase>`
/// per check in report order (`classname="spectral-audit.<layer or network>"`, `name="<check id>"`);
/// failed checks carry `<failure message="…">value … limit …</failure>`. Only the report's checks
/// become test cases: a `non_finite` or `unsupported` layer appears only through its checks.
/// No timestamps or durations, so the output is deterministic.
public enum JUnitRenderer {
    public static let suiteName = "spectral-audit"

    public static func render(_ report: AuditReportV1) -> String {
        let tests = report.checks.count
        let failures = report.failedChecks.count
        let a = { (s: String) in Escape.xml(s, attribute: true) }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"\(suiteName)\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\">\n"
        x += "  <testsuite name=\"\(suiteName)\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
        x += "    <properties>\n"
        var properties: [(String, String)] = [
            ("input", report.input.path),
            ("format", report.input.format),
            ("sha256", report.input.sha256),
            ("verdict", report.verdict.rawValue),
            ("gmsi", ReportNumber.format(report.gmsi)),
            ("gmsi_mode", report.gmsiMode),
            ("definitions", report.definitions),
            ("tool_version", report.tool.version),
        ]
        if let l = report.network.lipschitzBound { properties.append(("lipschitz_bound", ReportNumber.format(l))) }
        if let h = report.network.horizon { properties.append(("horizon", String(h))) }
        if report.data != nil { properties.append(("data_gmsi", ReportNumber.format(report.dataGmsi))) }
        if let line = StructureText.networkLine(report) { properties.append(("structure", line)) }
        if let d = report.delta { properties += DeltaRendering.properties(d) }
        for (name, value) in properties {
            x += "      <property name=\"\(a(name))\" value=\"\(a(value))\"/>\n"
        }
        x += "    </properties>\n"
        for c in report.checks {
            let classname = "\(suiteName).\(CheckText.scope(c))"
            let open = "    <testcase classname=\"\(a(classname))\" name=\"\(a(c.id))\""
            if c.passed {
                x += open + "/>\n"
            } else {
                let body = CheckText.valueAndLimit(c) + "\nmetric: \(CheckText.quantity(c))\n" + c.message
                x += open + ">\n"
                x += "      <failure message=\"\(a(c.message))\" type=\"\(a(c.id))\">\(Escape.xml(body))</failure>\n"
                x += "    </testcase>\n"
            }
        }
        x += "  </testsuite>\n</testsuites>\n"
        return x
    }
}
