import AuditReport
import Foundation
import ReportWriters

/// `--baseline`: a JSON report, or an annotated HDF5 file carrying one.
enum Baseline {
    static func load(_ path: String) throws -> AuditReportV1 {
        let data = try readInput(path)
        if data.starts(with: [0x89, 0x48, 0x44, 0x46]) {
            do {
                if let r = try AnnotatedHDF5.readReport(path: path) { return r }
            } catch {
                throw InputFileError(path: path, missing: false, message: "unreadable annotated HDF5 baseline: \(error)")
            }
            throw InputFileError(path: path, missing: false,
                                 message: "HDF5 file without /spectral_audit/report_json (not an annotated file)")
        }
        do {
            return try AuditReportV1.decode(data)
        } catch {
            throw InputFileError(path: path, missing: false, message: "not a spectral-audit JSON report (\(error))")
        }
    }
}
