/// llama.cpp's tensor names for the Llama family (`gguf-py/gguf/constants.py`, `TENSOR_NAMES` /
/// `MODEL_TENSORS[LLAMA]`), beside the Hugging Face names `convert_hf_to_gguf.py` maps to them:
/// | GGUF | Hugging Face (`model.` prefix) |
/// | --- | --- |
/// | `token_embd.weight` | `embed_tokens.weight` |
/// | `blk.N.attn_norm.weight` | `layers.N.input_layernorm.weight` |
/// | `blk.N.attn_q.weight` / `attn_k` / `attn_v` (+ `.bias`, Qwen2) | `layers.N.self_attn.q_proj` / `k_proj` / `v_proj` |
/// | `blk.N.attn_output.weight` | `layers.N.self_attn.o_proj.weight` |
/// | `blk.N.ffn_norm.weight` | `layers.N.post_attention_layernorm.weight` |
/// | `blk.N.ffn_gate.weight` / `ffn_up` / `ffn_down` | `layers.N.mlp.gate_proj` / `up_proj` / `down_proj` |
/// | `output_norm.weight` | `norm.weight` |
/// | `output.weight` (absent when tied) | `lm_head.weight` |
/// Orientation: ggml stores a matmul weight with `ne = [in, out]` (fastest first); the reader
/// reverses `ne`, so every matrix above arrives `[out, in]`, exactly as PyTorch stores it, and
/// `token_embd` as `[vocab, d]` like `embed_tokens`.
///
/// **Rotary row permutation.** For `general.architecture = llama` (and Mistral converted as
/// llama), `convert_hf_to_gguf.py` (`LlamaModel.permute`) reorders the rows of `q_proj` (with
/// n = head_count) and `k_proj` (with n = head_count_kv):
/// `W.reshape(n, 2, d_h/2, d).swapaxes(1, 2).reshape(n·d_h, d)` — Hugging Face's rotate-half
/// pairs (i, i + d_h/2) become llama.cpp's adjacent pairs (2i, 2i+1). That is, per head, a
/// permutation matrix P (d_h × d_h, the same P for every query and key/value head, since both
/// have d_h rows): `W_Q^h ↦ P W_Q^h`, `W_K^j ↦ P W_K^j`. Every quantity the analysis takes from
/// Q and K is invariant:
/// - QK form: `(P W_Q^h)ᵀ (P W_K^j) = W_Q^hᵀ Pᵀ P W_K^j = W_Q^hᵀ W_K^j` (Pᵀ P = I), so its
///   singular values are those of the Hugging Face checkpoint, bit for bit in exact arithmetic;
/// - `σ_max(P W) = σ_max(W)` and `‖P b‖ = ‖b‖` (P is orthogonal), and
///   `(P W_K)ᵀ (P b_Q) = W_Kᵀ b_Q`;
/// - OV (`W_O^h W_V^j`) does not involve Q or K; V and O are not permuted.
/// The rotation applied between Q and K changes with the convention, but the model's function
/// does not (that is what the permutation is for), and the local bounds use only the
/// invariants above. Qwen2 files are written unpermuted (NeoX-style rotary); the same argument
/// covers them trivially. `GGUFTransformerTests` checks both the identity and the end result
/// (per-head spectra of the converted file equal the Hugging Face folder's).
enum GGUFNames {
    /// The tensor whose presence marks a file as using llama.cpp's names.
    static let probe = "blk.0.attn_q.weight"
}
