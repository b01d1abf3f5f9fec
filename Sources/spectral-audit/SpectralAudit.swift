import ArgumentParser
import AuditReport

@main
struct SpectralAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectral-audit",
        abstract: "Audit the spectral stability of a trained neural network from its weight file.",
        version: ReportVersion.toolVersion
    )
}
