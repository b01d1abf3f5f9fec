extension ForwardTape {
    /// The forward values of slot `slot` (`count × size`, channels-last), for callers that report
    /// what the probes met inside the network (e.g. the row norms at a transformer's attention
    /// inputs and the scales at its normalisations' inputs).
    public func values(of slot: Int) -> [Double] { values[slot] }
}
