// spectral-fuzz: libFuzzer targets for every parser that sees untrusted bytes.
//
//   spectral-fuzz TARGET [libFuzzer flags] [corpus dirs]     (built with -D FUZZING, see `make fuzz`)
//   spectral-fuzz TARGET FILE...                              (plain build: replays files once each)
//   SPECTRAL_FUZZ_TARGET=TARGET spectral-fuzz [flags]         (same; needed by -fork/-jobs children)
//
// Targets: see `FuzzTargets.all` (npy, npz, safetensors, safetensors-index, keras-config,
// manifest, policy, peft-adapter, hdf5, hdf5-file, hdf5-raw, gguf, pytorch, pytorch-pickle, onnx, recurrent). Every target runs the real reader with the default `ReaderLimits`
// (so an allocation driven by a declared size that is not checked against the bytes present is
// caught by libFuzzer's -malloc_limit_mb) and loads every tensor it lists. Errors thrown by the
// readers are the expected outcome for almost every input; only crashes, leaks, timeouts and
// oversized allocations are findings.
import Audit
import Foundation
import HDF5Kit
import ModelBuilder
import SpectralModel
import WeightFiles
#if FUZZING
import FuzzDriver
#endif

/// One fuzz target: a name and a function over the input bytes.
struct FuzzTarget: Sendable {
    let name: String
    /// Default `-max_len` (bytes): large enough for the seeds that matter, small enough to stay fast.
    let maxLen: Int
    let summary: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void
}

enum FuzzTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "npy", maxLen: 4096, summary: "NPY header parser (in memory), then the .npy reader over a file", run: npy),
        FuzzTarget(name: "npz", maxLen: 65536, summary: "zip directory + inflate + member headers of .npz (any zip goes through ModelFile.open)", run: npz),
        FuzzTarget(name: "safetensors", maxLen: 8192, summary: "safetensors header JSON, entries, offsets, data", run: safetensors),
        FuzzTarget(name: "safetensors-index", maxLen: 4096, summary: "sharded index JSON next to one valid shard", run: safetensorsIndex),
        FuzzTarget(name: "keras-config", maxLen: 65536, summary: "KerasModelConfig.parse (model_config / config.json)", run: kerasConfig),
        FuzzTarget(name: "manifest", maxLen: 8192, summary: "architecture manifest (--arch) against a fixed tensor list", run: manifest),
        FuzzTarget(name: "policy", maxLen: 4096, summary: "policy file (--policy)", run: policy),
        FuzzTarget(name: "peft-adapter", maxLen: 4096, summary: "PEFT adapter_config.json next to a fixed LoRA adapter_model.safetensors, audited alone", run: peftAdapter),
        FuzzTarget(name: "hdf5", maxLen: 65536, summary: "HDF5 image in memory (.keras zip) through the CLI's containment: probe + loads in a server, in-process when clean", run: hdf5),
        FuzzTarget(name: "hdf5-file", maxLen: 65536, summary: "HDF5 file on disk (legacy Keras .h5, annotated outputs: stored report) through the CLI's containment", run: hdf5File),
        FuzzTarget(name: "gguf", maxLen: 16384, summary: "GGUF header, typed metadata (arrays, strings), tensor infos, offsets, every dequantizer", run: gguf),
        FuzzTarget(name: "pytorch", maxLen: 65536, summary: "PyTorch checkpoint (torch.save zip / legacy / TorchScript) through ModelFile.open + loads", run: pytorch),
        FuzzTarget(name: "pytorch-pickle", maxLen: 16384, summary: "the data-only pickle machine alone (PyTorchPickle.tensors, zip and legacy persistent ids)", run: pytorchPickle),
        FuzzTarget(name: "hdf5-raw", maxLen: 65536, summary: "HDF5 image opened in memory (HDF5File.openImage inside a .keras zip) + tensor walk + loads, no containment", run: hdf5Raw),
        FuzzTarget(name: "onnx", maxLen: 16384, summary: "ONNX ModelProto (swift-protobuf) + graph walk + external data + tensor loads + NetworkGraph.fromONNX", run: onnx),
        FuzzTarget(name: "recurrent", maxLen: 8192, summary: "safetensors with PyTorch recurrent names (TorchRecurrentKey): weights-only audit (horizon bounds) + data-mode graph and engine build", run: recurrent),
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: Targets

    static func npy(_ data: UnsafeRawBufferPointer) {
        let limits = ReaderLimits()
        guard (try? NPYHeader.parse(bytes: data, path: "fuzz.npy", limits: limits)) != nil else { return }
        openAndLoad(Scratch.write(data, as: "fuzz.npy"), limits: limits)
    }

    static func npz(_ data: UnsafeRawBufferPointer) {
        openAndLoad(Scratch.write(data, as: "fuzz.npz"), limits: ReaderLimits())
    }

    static func safetensors(_ data: UnsafeRawBufferPointer) {
        openAndLoad(Scratch.write(data, as: "fuzz.safetensors"), limits: ReaderLimits())
    }

    /// Issue 19: a safetensors file (seeds: fixtures/recurrent) through the weights-only audit at
    /// horizon 8 (structure inference, `TorchRecurrentKey`, gate layouts, horizon bounds), then
    /// the data-mode rewrite of its recurrent nodes (`RecurrentGraph.forData`, probes [1, 3, F])
    /// and the forward engine's build from it.
    static func recurrent(_ data: UnsafeRawBufferPointer) {
        let path = Scratch.write(data, as: "fuzz-recurrent.safetensors")
        var configuration = AuditConfiguration()
        configuration.timestamps = false
        configuration.jobs = 1
        configuration.horizon = 8
        _ = try? Auditor.run(path: path, configuration: configuration)
        guard let store = try? ModelFile.open(path, limits: ReaderLimits()) else { return }
        let graph = NetworkGraph.inferred(from: store.tensors)
        for phi in RNNNonlinearity.allCases {
            let features = graph.inputShape?.last ?? 1
            guard features > 0, features < 4096,
                  let (g, _) = try? RecurrentGraph.forData(graph, store: store, probeShape: [3, features], rnnNonlinearity: phi) else { continue }
            _ = try? ForwardModel(graph: g, store: store)
        }
    }

    static func safetensorsIndex(_ data: UnsafeRawBufferPointer) {
        Scratch.ensureShard()
        openAndLoad(Scratch.write(data, as: "model.safetensors.index.json"), limits: ReaderLimits())
    }

    static func pytorch(_ data: UnsafeRawBufferPointer) {
        openAndLoad(Scratch.write(data, as: "fuzz.pt"), limits: ReaderLimits())
    }

    static func pytorchPickle(_ data: UnsafeRawBufferPointer) {
        for legacy in [false, true] {
            if let infos = try? PyTorchPickle.tensors(in: data, legacy: legacy, torchScript: !legacy) {
                for t in infos { _ = (t.elementCount, t.byteCount) }
            }
        }
    }

    static func kerasConfig(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        guard let config = try? KerasModelConfig.parse(text, path: "fuzz.keras") else { return }
        for layer in config.layers { _ = (layer.activationName, layer.variableDType) }
    }

    static func manifest(_ data: UnsafeRawBufferPointer) {
        let path = Scratch.write(data, as: "fuzz.arch.json")
        guard let m = try? ArchitectureManifest.load(path: path) else { return }
        _ = try? m.graph(tensors: Scratch.manifestTensors)
    }

    static func policy(_ data: UnsafeRawBufferPointer) {
        guard let p = try? Policy.parse(Data(data), path: "fuzz.policy.json") else { return }
        for r in p.rules { for n in ["dense_1", "conv2d/kernel", ""] { _ = Policy.matches(r.layers, n) } }
    }

    /// `adapter_config.json` from the input in a folder whose `adapter_model.safetensors` holds
    /// one module `fc1` (lora_A [2, 3], lora_B [4, 2]): the config parser, rank/alpha patterns,
    /// the factor pairing and the thin-factor spectrum (`DeltaAuditor.runAdapter`).
    static func peftAdapter(_ data: UnsafeRawBufferPointer) {
        let folder = Scratch.ensureAdapter()
        _ = Scratch.write(data, as: "peft/adapter_config.json")
        var configuration = AuditConfiguration()
        configuration.timestamps = false
        _ = try? DeltaAuditor.runAdapter(folder: folder, basePath: nil, configuration: configuration)
    }

    /// The HDF5 image as the CLI meets it (`HDF5Containment`): libhdf5's own crashes and hangs
    /// that the CLI contains (probe child, watchdog) end the input; a crash after a clean probe
    /// is a finding; clean inputs then run in-process.
    static func hdf5(_ data: UnsafeRawBufferPointer) {
        contained(hdf5Image(data))
    }

    /// The input as an HDF5 file on disk (`fuzz.h5`): the file driver, the legacy Keras layout
    /// (`model_config`, `layer_names`, `weight_names` attributes) and an annotated file's stored
    /// report (`inspect`, `--baseline`), through the same containment.
    static func hdf5File(_ data: UnsafeRawBufferPointer) {
        contained(Scratch.write(data, as: "fuzz.h5"))
    }

    static func contained(_ path: String) {
        let outcome = HDF5Containment.shared.check(path)
        #if !FUZZING
        FileHandle.standardError.write(Data("hdf5: containment: \(outcome)\n".utf8))
        #endif
        switch outcome {
        case .clean:
            HDF5Containment.readLikeTheCLI(path, storedAudit: HDF5Containment.shared.lastStoredAuditReadable)
        case .refusedByProbe, .stalled, .overMemoryBudget:
            return
        case .crashedAfterProbe(let how):
            FileHandle.standardError.write(Data("hdf5: libhdf5 died (\(how)) reading tensors after a clean probe: the CLI would crash on this input\n".utf8))
            abort()
        }
    }

    /// libhdf5 itself, in-process and uncontained: finds libhdf5's bugs (run in fork mode with
    /// -ignore_timeouts/-ignore_crashes; `make fuzz-triage` checks the CLI contains each).
    static func hdf5Raw(_ data: UnsafeRawBufferPointer) {
        openAndLoad(hdf5Image(data), limits: ReaderLimits())
    }

    /// The input is the HDF5 image; it is stored (uncompressed) as `model.weights.h5` of a
    /// `.keras` zip so that `KerasZip.open` reaches `HDF5File.openImage` and the store's walk.
    static func hdf5Image(_ data: UnsafeRawBufferPointer) -> String {
        let zip = StoredZip.make([
            ("config.json", Array(#"{"class_name": "Sequential", "config": {"name": "m", "layers": []}}"#.utf8)),
            ("model.weights.h5", [UInt8](data)),
        ])
        return zip.withUnsafeBytes { Scratch.write($0, as: "fuzz.keras") }
    }

    /// GGUF through its store directly: every metadata summary, every tensor in both precisions.
    static func gguf(_ data: UnsafeRawBufferPointer) {
        guard let store = try? GGUFTensorStore(path: Scratch.write(data, as: "fuzz.gguf"), limits: ReaderLimits()) else { return }
        for key in store.metadataKeys { _ = store.metadata[key]?.summary }
        for t in store.tensors {
            _ = (t.elementCount, t.byteCount)
            _ = try? store.loadFloat64(t.name)
            _ = try? store.loadFloat32(t.name)
        }
    }

    /// Opens `path` through format detection and loads every listed tensor.
    static func openAndLoad(_ path: String, limits: ReaderLimits) {
        guard let store = try? ModelFile.open(path, limits: limits) else { return }
        _ = store.architectureJSON
        for t in store.tensors {
            _ = (t.elementCount, t.byteCount)
            _ = try? store.loadFloat64(t.name)
        }
    }
}

/// A per-process folder in /dev/shm (memory) for readers that take a path.
enum Scratch {
    nonisolated(unsafe) static var folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        // Folders left by earlier runs that died (a crash skips atexit) are removed first.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix("spectral-fuzz-") {
            if let pid = Int32(name.dropFirst("spectral-fuzz-".count)), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(atPath: base + "/" + name)
            }
        }
        let dir = base + "/spectral-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.folder) }
        return dir
    }()

    static func write(_ bytes: UnsafeRawBufferPointer, as name: String) -> String {
        let path = folder + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot write \(path)")
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "short write to \(path)")
            done += n
        }
        close(fd)
        return path
    }

    nonisolated(unsafe) static var shardWritten = false

    /// `model-00001-of-00001.safetensors`: one f32 tensor `w` of shape [2, 2].
    static func ensureShard() {
        if shardWritten { return }
        shardWritten = true
        let header = Array(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#.utf8)
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        for v: Float in [1, 2, 3, 4] { bytes += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        _ = bytes.withUnsafeBytes { write($0, as: "model-00001-of-00001.safetensors") }
    }

    nonisolated(unsafe) static var adapterWritten = false

    /// `peft/adapter_model.safetensors`: `base_model.model.fc1.lora_A.weight` f32 [2, 3] and
    /// `…lora_B.weight` f32 [4, 2]. Returns the folder.
    static func ensureAdapter() -> String {
        let dir = folder + "/peft"
        if adapterWritten { return dir }
        adapterWritten = true
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let header = Array(("{\"base_model.model.fc1.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            + "\"base_model.model.fc1.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[24,56]}}").utf8)
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        for v: Float in [1, 2, 3, 4, 5, 6, 0.5, -1, 2, 0.25, -3, 1, 0, 2] { bytes += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        _ = bytes.withUnsafeBytes { write($0, as: "peft/adapter_model.safetensors") }
        return dir
    }

    static let manifestTensors: [TensorInfo] = [
        TensorInfo(name: "fc1.weight", shape: [8, 4], dtype: .float32, byteOrder: .little, layout: "contiguous"),
        TensorInfo(name: "fc1.bias", shape: [8], dtype: .float32, byteOrder: .little, layout: "contiguous"),
        TensorInfo(name: "conv.weight", shape: [4, 3, 3, 3], dtype: .float32, byteOrder: .little, layout: "contiguous"),
        TensorInfo(name: "fc2.weight", shape: [2, 8], dtype: .float32, byteOrder: .little, layout: "contiguous"),
    ]
}

/// A zip archive whose members are stored (method 0), enough for `KerasZip.open`.
enum StoredZip {
    static func make(_ members: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: UInt32, _ into: inout [UInt8]) { for s in stride(from: 0, to: 32, by: 8) { into.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
        for (name, body) in members {
            let offset = UInt32(out.count)
            let crc = crc32(body)
            let nameBytes = Array(name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(UInt32(body.count), &out); u32(UInt32(body.count), &out)
            u16(nameBytes.count, &out); u16(0, &out); out += nameBytes; out += body
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(UInt32(body.count), &central)
            u32(UInt32(body.count), &central); u16(nameBytes.count, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(0, &central); u32(offset, &central); central += nameBytes
        }
        let cdOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(members.count, &out); u16(members.count, &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

// MARK: - Entry point

func usage() -> Never {
    var text = "usage: spectral-fuzz TARGET [libFuzzer flags] [corpus folders | files]\ntargets:\n"
    for t in FuzzTargets.all { text += "  \(t.name.padding(toLength: 18, withPad: " ", startingAt: 0))\(t.summary)\n" }
    FileHandle.standardError.write(Data(text.utf8))
    exit(2)
}

// The hdf5 target's containment server (HDF5Containment) is this binary with $SPECTRAL_FUZZ_SERVE.
if ProcessInfo.processInfo.environment[HDF5Containment.serveVariable] == "hdf5" {
    HDF5Containment.serve()
}

// The target is argv[1], or $SPECTRAL_FUZZ_TARGET. libFuzzer's -fork/-jobs modes re-run this
// binary with libFuzzer flags only, so the choice is also exported for those children.
var arguments = CommandLine.arguments
let selected: FuzzTarget
if arguments.count >= 2, let t = FuzzTargets.named(arguments[1]) {
    selected = t
    arguments.remove(at: 1)
    setenv("SPECTRAL_FUZZ_TARGET", t.name, 1)
} else if let name = ProcessInfo.processInfo.environment["SPECTRAL_FUZZ_TARGET"], let t = FuzzTargets.named(name) {
    selected = t
} else {
    usage()
}
let target = selected

#if FUZZING
// A libhdf5 call that never returns is reported by libFuzzer's -timeout as a timeout artifact,
// not ended by the CLI's watchdog (which would look like an unexplained exit).
HDF5Watchdog.onStall = { _ in }

/// Defined so that libFuzzer's own `main` (linked in, but replaced through SwiftPM's
/// `--defsym main=spectral_fuzz_main`) resolves; the driver below is what runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// libFuzzer sees the program name and everything after the target name, plus the target's
// default -max_len unless one is given.
var passed = Array(arguments.dropFirst(1))
if !passed.contains(where: { $0.hasPrefix("-max_len=") }) { passed.insert("-max_len=\(target.maxLen)", at: 0) }
var fuzzArgs: [UnsafeMutablePointer<CChar>?] = [strdup(arguments[0])] + passed.map { strdup($0) } + [nil]
var argc = Int32(fuzzArgs.count - 1)
let code = fuzzArgs.withUnsafeMutableBufferPointer { buf -> Int32 in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buf.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        target.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
exit(code)
#else
// Replay: run the target once on each file (folders: each file inside), e.g. a crash artifact.
var files: [String] = []
for a in arguments.dropFirst(1) {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: a, isDirectory: &isDir), isDir.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: a)) ?? []
        files += names.sorted().map { a + "/" + $0 }
    } else {
        files.append(a)
    }
}
for f in files {
    guard let d = FileManager.default.contents(atPath: f) else {
        FileHandle.standardError.write(Data("spectral-fuzz: cannot read \(f)\n".utf8))
        exit(66)
    }
    let start = Date()
    d.withUnsafeBytes { target.run($0) }
    print("\(target.name): \(f): ok (\(Int(Date().timeIntervalSince(start) * 1000)) ms)")
}
print("\(files.count) inputs replayed, 0 crashed")
#endif
