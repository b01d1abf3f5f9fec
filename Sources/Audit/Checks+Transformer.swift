import AuditReport

/// Policy limits on a transformer's attention heads (the `network` object of a policy):
/// `attention_qk_norm_max` bounds every head's `‖W_Q^hᵀ W_K^h‖₂/√d_h` — the weights-only warning
/// sign of attention-entropy collapse (Zhai et al. 2023) — and `attention_ov_norm_max` every
/// head's `‖W_O^h W_V^h‖₂`. One check each (`policy.network.<name>_max`) on the largest head,
/// named in the message. Without a transformer section the value is unavailable (the check fails
/// unless --allow-unavailable), never silently passed.
enum TransformerChecks {
    static let metrics = ["attention_qk_norm", "attention_ov_norm"]

    static func evaluate(report: AuditReportV1, policy: Policy, allowUnavailable: Bool) -> [Check] {
        metrics.compactMap { name -> Check? in
            guard let limit = policy.networkMax[name] else { return nil }
            let id = "policy.network.\(name)_max"
            let heads = report.transformer?.attentionHeads ?? []
            let value: (AttentionHeadV1) -> Double = name == "attention_qk_norm" ? { $0.qk.spectralNorm } : { $0.ov.spectralNorm }
            guard let worst = heads.filter({ value($0).isFinite }).max(by: { value($0) < value($1) }) else {
                let why = report.transformer == nil
                    ? "the model has no transformer section (a Hugging Face config.json of a BERT, GPT-2 or Llama family model)"
                    : "no attention head has a finite value"
                return Check(id: id, layer: nil, metric: name, value: nil, limit: limit, comparison: "<=", passed: allowUnavailable,
                             message: "\(name) unavailable: \(why)" + (allowUnavailable ? "; allowed" : " (pass --allow-unavailable to accept)"))
            }
            let v = value(worst)
            let where_ = "block \(worst.layer) head \(worst.head)"
            return Check(id: id, layer: nil, metric: name, value: v, limit: limit, comparison: "<=", passed: v <= limit,
                         message: "\(name) \(Checks.fmt(v)) (largest: \(where_)) \(v <= limit ? "≤" : ">") \(Checks.fmt(limit))")
        }
    }
}
