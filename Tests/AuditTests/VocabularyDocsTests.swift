import Audit
import Foundation
import XCTest

/// Issue 15 item 5: every `method`, `operator_norm_method` and `status` value the code can put in
/// a report (derived from the code's own enums and constants, not a copied list) is documented in
/// spectral-audit-metrics(7) and allowed by the report schema.
final class VocabularyDocsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testEmittedValuesAreInManPageAndSchema() throws {
        let man = try String(contentsOf: Self.root.appendingPathComponent("man/spectral-audit-metrics.7"), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\%", with: "")
        let schemaData = try Data(contentsOf: Self.root.appendingPathComponent("schemas/audit-report.schema.json"))
        let schema = try JSONSerialization.jsonObject(with: schemaData) as! [String: Any]
        let layer = ((schema["$defs"] as! [String: Any])["layer"] as! [String: Any])["properties"] as! [String: Any]
        func schemaEnum(_ field: String) -> Set<String> {
            Set(((layer[field] as? [String: Any])?["enum"] as? [String]) ?? [])
        }
        let fields: [(String, [String])] = [
            ("method", ReportVocabulary.layerMethods),
            ("operator_norm_method", ReportVocabulary.operatorNormMethods),
            ("status", ReportVocabulary.layerStatuses),
        ]
        for (field, values) in fields {
            XCTAssertFalse(values.isEmpty, field)
            XCTAssertEqual(schemaEnum(field), Set(values), "schemas/audit-report.schema.json $defs.layer.\(field).enum")
            for v in values {
                XCTAssertTrue(man.contains(v), "\(field) value '\(v)' is not documented in man/spectral-audit-metrics.7")
            }
        }
        XCTAssertTrue(ReportVocabulary.operatorNormMethods.contains("fft_padded_bound"))
        XCTAssertTrue(ReportVocabulary.layerMethods.contains("gram_syevd"))
    }
}
