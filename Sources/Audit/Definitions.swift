import AuditReport

/// The set of definitions this library implements (SPEC.md), as recorded in every report.
public enum Definitions {
    public static let version = ReportVersion.definitions
}
