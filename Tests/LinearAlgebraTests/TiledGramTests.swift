import Foundation
import XCTest
@testable import LinearAlgebra

/// Issue 20, a lone large layer on two cores: the tiled Gram (`TiledGram`) must not depend on how
/// many threads compute its tiles, and on the SkylakeX/Cooperlake kernels (whose `DGEMM_Q` is the
/// tiles' k chunk) it must equal one `cblas_dsyrk` call to the bit; `CoreSharing` must run every
/// item and every tile exactly once, whatever the number of jobs.
final class TiledGramTests: XCTestCase {
    func gaussianish(_ n: Int, seed: UInt64) -> [Double] {
        var s = seed | 1
        return (0..<n).map { _ in
            var t = 0.0
            for _ in 0..<4 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; t += Double(s >> 11) / Double(1 << 53) - 0.5 }
            return t
        }
    }

    func testChunksFollowOpenBLASsSyrkDriver() {
        XCTAssertEqual(TiledGram.chunks(k: 384).map(\.length), [384])
        XCTAssertEqual(TiledGram.chunks(k: 100).map(\.length), [100])
        XCTAssertEqual(TiledGram.chunks(k: 1000).map(\.length), [384, 308, 308])
        XCTAssertEqual(TiledGram.chunks(k: 2048).map(\.length), [384, 384, 384, 384, 256, 256])
        XCTAssertEqual(TiledGram.chunks(k: 769).map(\.length), [384, 193, 192])
        for k in [1, 383, 384, 385, 767, 768, 769, 4096, 11008] {
            let c = TiledGram.chunks(k: k)
            XCTAssertEqual(c.reduce(0) { $0 + $1.length }, k)
            XCTAssertTrue(c.allSatisfy { $0.length <= TiledGram.kChunk })
            XCTAssertEqual(zip(c, c.dropFirst()).allSatisfy { $0.start + $0.length == $1.start }, true)
        }
        XCTAssertFalse(TiledGram.applies(order: 1008))
        XCTAssertFalse(TiledGram.applies(order: 1100))
        let known = TiledGram.kernels.contains(BLASRuntime.coreName)
        XCTAssertEqual(TiledGram.applies(order: 1040), known)
        XCTAssertEqual(TiledGram.applies(order: 2048), known)
        XCTAssertEqual(TiledGram.tileSize(order: 2048, threads: 2), 1024)
        XCTAssertEqual(TiledGram.tileSize(order: 1040, threads: 2), 576)
        XCTAssertEqual(TiledGram.tileSize(order: 1024, threads: 8), 256)
    }

    /// Any tiling (edges at multiples of 64) gives the bits of the single dsyrk call.
    func testEveryTileSizeGivesTheSingleCallsBits() throws {
        try XCTSkipUnless(TiledGram.kernels.contains(BLASRuntime.coreName), "tiles equal one dsyrk call only where DGEMM_Q = 384")
        for (m, n) in [(2048, 1024), (1040, 1500)] {
            let a = gaussianish(m * n, seed: UInt64(m + 3 * n))
            let p = min(m, n), k = max(m, n)
            var whole = [Double](repeating: 0, count: p * p)
            a.withUnsafeBufferPointer { ap in whole.withUnsafeMutableBufferPointer { LAPACKCalls.syrkWhole(ap, rows: m, cols: n, into: $0.baseAddress!) } }
            for tile in [256, 320, 448, 576, 768] {
                var tiled = [Double](repeating: 0, count: p * p)
                a.withUnsafeBufferPointer { ap in
                    tiled.withUnsafeMutableBufferPointer {
                        TiledGram.compute(TiledGram.Operand(base: ap.baseAddress!, ld: n, transposed: n > m), order: p, k: k,
                                          accumulate: false, into: $0.baseAddress!, sharing: nil, tile: tile)
                    }
                }
                var same = true
                for j in 0..<p { for i in j..<p where tiled[i + j * p].bitPattern != whole[i + j * p].bitPattern { same = false } }
                XCTAssertTrue(same, "\(m)×\(n), tiles of \(tile)")
            }
        }
    }

    func testTiledGramEqualsOneDsyrkCallAndDoesNotDependOnThreads() throws {
        let sameKernels = TiledGram.kernels.contains(BLASRuntime.coreName)
        // (rows, cols): tall and wide, orders 1024–1536 (multiples of 16), k below, between and above 2·384.
        for (m, n) in [(1024, 1024), (1040, 1500), (1536, 1024), (1024, 3000), (1056, 2000)] {
            let a = gaussianish(m * n, seed: UInt64(m * 7919 + n))
            let p = min(m, n)
            XCTAssertEqual(TiledGram.applies(order: p), sameKernels)
            var whole = [Double](repeating: 0, count: p * p)
            a.withUnsafeBufferPointer { ap in whole.withUnsafeMutableBufferPointer { LAPACKCalls.syrkWhole(ap, rows: m, cols: n, into: $0.baseAddress!) } }
            let serial = a.withUnsafeBufferPointer { LAPACKCalls.gramSmallerSide($0, rows: m, cols: n) }
            // Two jobs, one layer: the idle core is lent as a thread to the tiles.
            let shared = a.withUnsafeBufferPointer { LAPACKCalls.gramSmallerSide($0, rows: m, cols: n, sharing: CoreSharing(items: 1, jobs: 2)) }
            let four = a.withUnsafeBufferPointer { LAPACKCalls.gramSmallerSide($0, rows: m, cols: n, sharing: CoreSharing(items: 1, jobs: 4)) }
            var lowerSerial: [Double] = [], lowerShared: [Double] = [], lowerFour: [Double] = [], lowerWhole: [Double] = []
            for j in 0..<p { for i in j..<p {
                lowerSerial.append(serial[i + j * p]); lowerShared.append(shared[i + j * p])
                lowerFour.append(four[i + j * p]); lowerWhole.append(whole[i + j * p])
            } }
            XCTAssertEqual(lowerSerial.map(\.bitPattern), lowerShared.map(\.bitPattern), "\(m)×\(n): threads changed the Gram")
            XCTAssertEqual(lowerSerial.map(\.bitPattern), lowerFour.map(\.bitPattern), "\(m)×\(n): threads changed the Gram")
            if sameKernels {
                XCTAssertEqual(lowerSerial.map(\.bitPattern), lowerWhole.map(\.bitPattern), "\(m)×\(n): tiles differ from one dsyrk call")
            } else {
                let scale = lowerWhole.map(abs).max() ?? 1
                let diff = zip(lowerSerial, lowerWhole).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(diff, 1e-13 * scale, "\(m)×\(n)")
            }
        }
    }

    func testAccumulatedTiledGramEqualsOneDsyrkCallPerChunk() {
        // GramAccumulator: β = 1 on every chunk, as its single dsyrk call per chunk.
        let n = 1024, rows = 900
        let a = gaussianish(rows * n, seed: 42)
        var tiled = GramAccumulator(order: n, sharing: CoreSharing(items: 1, jobs: 2))
        var plain = GramAccumulator(order: n)
        a.withUnsafeBufferPointer { ap in
            for (start, count) in [(0, 500), (500, 400)] {
                let chunk = UnsafeBufferPointer(rebasing: ap[(start * n)..<((start + count) * n)])
                tiled.addRows(chunk, rows: count)
                plain.addRows(chunk, rows: count)
            }
        }
        XCTAssertEqual(tiled.gram.map(\.bitPattern), plain.gram.map(\.bitPattern))
    }

    func testAddColumnsEqualsAddRowsOfTheTransposedBlock() {
        // The streamed wide path adds B Bᵀ from the row-major block B (dsyrk Trans) where it used to
        // transpose B and add (Bᵀ)ᵀBᵀ (dsyrk NoTrans): the same bits, below and above the tiling order.
        for (order, k) in [(384, 1536), (384, 100), (1040, 900), (1024, 2000)] {
            let b = gaussianish(order * k, seed: UInt64(order + k))
            var t = [Double](repeating: 0, count: order * k)
            for i in 0..<order { for j in 0..<k { t[j * order + i] = b[i * k + j] } }
            var columns = GramAccumulator(order: order, sharing: CoreSharing(items: 1, jobs: 2))
            var rows = GramAccumulator(order: order)
            b.withUnsafeBufferPointer { columns.addColumns($0, k: k) }
            t.withUnsafeBufferPointer { rows.addRows($0, rows: k) }
            var lowerColumns: [UInt64] = [], lowerRows: [UInt64] = []
            for j in 0..<order { for i in j..<order {
                lowerColumns.append(columns.gram[i + j * order].bitPattern); lowerRows.append(rows.gram[i + j * order].bitPattern)
            } }
            XCTAssertEqual(lowerColumns, lowerRows, "order \(order), k \(k)")
        }
    }

    func testCoreSharingRunsEveryItemAndTileOnce() {
        for jobs in 1...4 {
            for items in 0...5 {
                let sharing = CoreSharing(items: items, jobs: jobs)
                let counts = Counts(items)
                let tiles = Counts(items * 7)
                DispatchQueue.concurrentPerform(iterations: CoreSharing.jobsRunning(jobs, items: items)) { _ in
                    sharing.work { k in
                        counts.bump(k)
                        sharing.perform(count: 7) { t in tiles.bump(k * 7 + t) }
                    }
                }
                XCTAssertEqual(counts.values, [Int](repeating: 1, count: items), "jobs \(jobs), items \(items)")
                XCTAssertEqual(tiles.values, [Int](repeating: 1, count: items * 7), "jobs \(jobs), items \(items)")
            }
        }
    }

    final class Counts: @unchecked Sendable {
        private var slots: [Int]
        private let lock = NSLock()
        init(_ n: Int) { slots = [Int](repeating: 0, count: n) }
        func bump(_ i: Int) { lock.lock(); slots[i] += 1; lock.unlock() }
        var values: [Int] { lock.lock(); defer { lock.unlock() }; return slots }
    }
}
