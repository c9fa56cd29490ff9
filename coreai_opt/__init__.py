"""coreai-opt: open weight compression for Core AI programs."""
