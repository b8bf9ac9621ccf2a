"""Statistical inference on fitted linear mixed models."""
