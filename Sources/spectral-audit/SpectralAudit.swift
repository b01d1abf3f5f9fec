import ArgumentParser
import AuditReport
#if os(Linux)
import CMalloc
#endif
import Foundation
import HDF5Kit
import LinearAlgebra
import ReportWriters

/// The executable: parse, validate, build a configuration, call the library, map errors to exit
/// codes. Nothing numerical lives here.
@main
struct SpectralAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectral-audit",
        abstract: "Audit the spectral stability of a trained neural network from its weight file.",
        discussion: """
        Reads HDF5/Keras (.h5, .weights.h5, .keras), NumPy (.npy, .npz), safetensors, PyTorch \
        (.pt, .pth, .bin, TorchScript; pickles read data-only), ONNX and GGUF files and Hugging Face \
        model folders, computes per-layer singular-value spectra and network-level bounds (Lipschitz product \
        bound, entropy-refined typical bound, GMSI), and judges them against thresholds.

        Exit codes: 0 pass, 1 audit failed a check, 2 usage error, 65 malformed input file, \
        66 input missing or unreadable, 70 internal error, 73 cannot create output, \
        130/143 interrupted (SIGINT/SIGTERM). See spectral-audit(1).
        """,
        version: ReportVersion.toolVersion,
        subcommands: [AuditCommand.self, InspectCommand.self, MergeCommand.self, ProbeCommand.self, RepairCommand.self],
        defaultSubcommand: AuditCommand.self
    )

    static func main() {
        Interrupts.install()
        // Process policy lives here, not in the libraries: one BLAS thread (parallelism is across
        // layers and probe batches, `--jobs`; with a busy core two BLAS threads made sgesdd 6× slower).
        BLASThreads.set(1)
        #if os(Linux)
        // Tensors are loaded one after another into buffers of similar size. glibc would serve
        // each from a fresh mmap (and the kernel zero every page again: a fifth of a load's time);
        // keep buffers below 64 MiB on the heap and up to 128 MiB of freed heap for reuse.
        _ = mallopt(M_MMAP_THRESHOLD, 64 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 128 << 20)
        #endif
        // libhdf5 can spin forever on a hostile file and a C call cannot be cancelled: when a
        // guarded HDF5 phase overruns, remove outputs in progress, say so in one line, exit 65.
        HDF5Watchdog.onStall = { message in
            AtomicOutput.removeInFlightBeforeExit()
            FileHandle.standardError.write(Data(("spectral-audit: " + message.oneLine + "\n").utf8))
            _exit(ExitCodes.malformed)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            ExitCodes.exit(for: error)
        }
    }
}
