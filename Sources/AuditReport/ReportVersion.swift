/// Versions of the report contract. `schemaVersion` changes whenever a field is added, renamed
/// or removed (in the same commit as `schemas/audit-report.schema.json`); `definitions` names the
/// set of formulas in SPEC.md and changes only together with them.
public enum ReportVersion {
    public static let schemaVersion = "1.1.0"
    public static let definitions = "spectral-audit/1"
    public static let toolName = "spectral-audit"
    public static let toolVersion = "0.1.0"
}
