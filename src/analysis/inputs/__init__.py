"""What the salon gives: the study folder, its exports, presets, the sample generator."""
