/// Materialises a tensor from its storage's bytes: the strided view at `offset` (elements) with
/// `strides`, gathered into contiguous C order, element bytes unchanged (stored byte order).
/// The view was checked against the storage's declared size when the pickle was read
/// (`PickleMachine.rebuildTensor`) and the storage against its bytes when the file was listed;
/// `gather` checks again against the bytes it is given.
enum PyTorchTensorView {
    /// - Returns: false when the view does not fit in `storage` (nothing written).
    static func gather(_ t: PickleTensor, storage: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let es = t.dtype.byteSize
        let n = out.count / es
        guard n > 0 else { return true }
        var last = t.offset
        for k in t.shape.indices { last += (t.shape[k] - 1) * t.strides[k] }
        let (end, overflow) = (last + 1).multipliedReportingOverflow(by: es)
        guard last >= 0, !overflow, end <= storage.count, let src = storage.baseAddress, let dst = out.baseAddress else { return false }
        if t.isContiguous {
            dst.copyMemory(from: src + t.offset * es, byteCount: n * es)
            return true
        }
        // Odometer over all but the last dimension; the last one is a strided run.
        let rank = t.shape.count
        let inner = t.shape[rank - 1], innerStride = t.strides[rank - 1] * es
        var index = [Int](repeating: 0, count: rank)
        var o = 0
        var base = t.offset * es
        while o < n {
            var s = base
            for _ in 0..<inner {
                (dst + o * es).copyMemory(from: src + s, byteCount: es)
                o += 1
                s += innerStride
            }
            // Advance the outer dimensions.
            var k = rank - 2
            while k >= 0 {
                index[k] += 1
                base += t.strides[k] * es
                if index[k] < t.shape[k] { break }
                base -= t.strides[k] * es * t.shape[k]
                index[k] = 0
                k -= 1
            }
            if k < 0 { break }
        }
        return true
    }
}
