@testable import Audit
import AuditReport
import Foundation
import SpectralModel
import XCTest

/// The loss Hessian when its Lanczos basis does not fit in `lanczosBasisBytes`: the two-pass
/// Lanczos (`BudgetedLanczos`) must give the same extremes as the stored basis / the references,
/// and converge where the old byte cap (`bytes / 8P` steps) stopped it.
extension DataAuditTests {
    func testHessianTwoPassWhenTheBasisDoesNotFit() throws {
        func audit(_ bytes: Int?) throws -> DataAuditResult {
            try run("mlp.h5", probe: "probe_mlp.npy", labels: "probe_mlp_labels.npy") {
                $0.probeLimit = 16
                $0.lanczosTolerance = 1e-10
                $0.attributionSamples = 0
                if let bytes { $0.lanczosBasisBytes = bytes }
            }
        }
        let stored = try audit(nil)
        // 3 vectors of P fit: the old rule stopped after 3 products, unconverged.
        let (store, graph) = try Self.setUp("mlp.h5")
        let model = try ForwardModel(graph: graph, store: store)
        let twoPass = try audit(3 * 8 * model.parameterCount)
        let note = try XCTUnwrap(twoPass.notes.first { $0.hasPrefix("loss Hessian:") })
        XCTAssertTrue(note.contains("two-pass symmetric Lanczos"), note)
        XCTAssertFalse(note.contains("NOT converged"), note)
        let a = try XCTUnwrap(stored.report.hessianLambdaMax), b = try XCTUnwrap(stored.report.hessianLambdaMin)
        let radius = max(abs(a), abs(b))
        XCTAssertEqual(try XCTUnwrap(twoPass.report.hessianLambdaMax), a, accuracy: 1e-8 * radius)
        XCTAssertEqual(try XCTUnwrap(twoPass.report.hessianLambdaMin), b, accuracy: 1e-8 * radius)
    }
}

extension TransformerHeadTests {
    /// The four heads' loss-Hessian extremes equal torch's (explicit Hessian + eigvalsh) to 1e-6
    /// with a basis budget of 4 vectors (two-pass Lanczos), converged.
    func testLabelsHessianTwoPassEqualsTorch() throws {
        let ref = try reference()
        for name in Self.headed.keys.sorted() {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name])
            var o = options(name, labels: true)
            o.lanczosBasisBytes = 4 * 8 * 1024
            let (data, _, notes) = try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: nil, progress: nil)
            let labels = try XCTUnwrap(data.output?.labels, name)
            XCTAssertTrue(notes.contains { $0.contains("two-pass symmetric Lanczos") }, "\(name): \(notes)")
            let lmax = try XCTUnwrap(m.hessian_lambda_max), lmin = try XCTUnwrap(m.hessian_lambda_min)
            XCTAssertTrue(labels.converged, name)
            XCTAssertEqual(labels.hessianLambdaMax, lmax, accuracy: 1e-6 * abs(lmax), "\(name) λ_max")
            XCTAssertEqual(labels.hessianLambdaMin, lmin, accuracy: 1e-6 * abs(lmin), "\(name) λ_min")
        }
    }
}

/// `BudgetedLanczos.extremes`' three paths on a diagonal operator with a known spectrum (n = 400,
/// −1, then [−0.9, 2] evenly, then 3): the basis fits (stored Lanczos only), 16 vectors fit but
/// the run needs more (stored first, then the two-pass run, products added), 3 fit (two-pass at once).
final class HessianLanczosPathTests: XCTestCase {
    func testThreePaths() throws {
        let n = 400
        var d: [Double] = [-1]
        for i in 0..<(n - 2) { d.append(-0.9 + 2.9 * Double(i) / Double(n - 3)) }
        d.append(3)
        let apply: ([Double]) -> [Double] = { v in (0..<n).map { d[$0] * v[$0] } }
        func run(_ vectors: Int) throws -> BudgetedLanczos.Outcome {
            var o = DataAuditOptions(probePath: "")
            o.lanczosBasisBytes = vectors * 8 * n
            return try BudgetedLanczos.extremes(parameters: n, options: o, tolerance: 1e-10, seed: 3, apply: apply)
        }
        let stored = try run(300), hybrid = try run(16), twoPass = try run(3)
        XCTAssertFalse(stored.twoPass)
        XCTAssertTrue(hybrid.twoPass && twoPass.twoPass)
        XCTAssertGreaterThan(stored.products, 16, "the spectrum must need more than 16 steps for the hybrid path")
        XCTAssertEqual(hybrid.products, 16 + twoPass.products)
        for r in [stored, hybrid, twoPass] {
            XCTAssertTrue(r.extremes.converged)
            XCTAssertEqual(r.extremes.lambdaMax, 3, accuracy: 1e-9 * 3)
            XCTAssertEqual(r.extremes.lambdaMin, -1, accuracy: 1e-9 * 3)
            XCTAssertLessThanOrEqual(r.extremes.lambdaMax, 3 + 1e-12)
        }
        XCTAssertTrue(hybrid.method.contains("two-pass"))
    }
}

extension HessianLanczosPathTests {
    /// The NTK's use (`needMin`, `minBudget`): on a singular PSD operator (a zero eigenvalue under a
    /// continuum that Lanczos does not resolve within the budget) with room for 20 vectors, no bracket
    /// and a budget of 30, the basis cannot hold the budget's steps, so the two-pass run starts at
    /// once (no products spent twice); with a bracket [0, 1e-14] the stored basis runs and the
    /// bracket settles λ_min when λ_max converges. Both state λ_max = 5 to 1e-9.
    func testBudgetWithoutBracketGoesTwoPassAtOnce() throws {
        let n = 400
        var d: [Double] = [0]
        for i in 0..<(n - 2) { d.append(0.02 + 2.48 * Double(i) / Double(n - 3)) }
        d.append(5)
        let apply: ([Double]) -> [Double] = { v in (0..<n).map { d[$0] * v[$0] } }
        func run(_ bracket: ClosedRange<Double>?) throws -> BudgetedLanczos.Outcome {
            try BudgetedLanczos.extremes(dimension: n, bytes: 20 * 8 * n, maxIterations: 300, tolerance: 1e-10, seed: 3,
                                         minBudget: 30, minBracket: bracket, apply: apply)
        }
        let plain = try run(nil), bracketed = try run(0...1e-14)
        XCTAssertTrue(plain.twoPass)
        XCTAssertGreaterThanOrEqual(plain.extremes.iterations, 30)
        XCTAssertEqual(plain.products, 2 * plain.extremes.iterations + 1, "two-pass from the start: nothing spent on a stored run")
        XCTAssertFalse(bracketed.twoPass)
        XCTAssertTrue(bracketed.extremes.converged && bracketed.extremes.minFromBracket)
        XCTAssertLessThanOrEqual(bracketed.products, 20)
        for r in [plain, bracketed] { XCTAssertEqual(r.extremes.lambdaMax, 5, accuracy: 1e-9 * 5) }
    }
}
