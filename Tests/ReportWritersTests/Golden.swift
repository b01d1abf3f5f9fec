import Foundation
import Testing

/// Golden-file comparison. `UPDATE_GOLDEN=1 swift test --filter ReportWritersTests` rewrites the
/// files under `Tests/ReportWritersTests/Golden/` instead of comparing.
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static var updating: Bool { ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" }

    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(name)
        if updating {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url)
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing golden file \(name); run with UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        if expected != actual {
            let a = actual.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
            let i = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
            let got = i < a.count ? a[i] : "<end>", want = i < e.count ? e[i] : "<end>"
            Issue.record("\(name) differs from golden at line \(i + 1):\n  got:  \(got)\n  want: \(want)",
                         sourceLocation: sourceLocation)
        }
    }

    /// Where tests also drop sample outputs for outside tools (`fixtures/validate_schema.py`,
    /// Chromium): `$REPORT_WRITERS_DUMP_DIR`, if set.
    static func dump(_ text: String, _ name: String) throws {
        guard let dir = ProcessInfo.processInfo.environment["REPORT_WRITERS_DUMP_DIR"], !dir.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
    }
}
