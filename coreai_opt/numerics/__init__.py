"""Pure numpy numerics: quantization, clustering, pruning, packing. No IR here."""
