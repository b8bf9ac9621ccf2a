"""henderson: linear mixed models by Henderson's sparse mixed model equations."""
__version__ = "0.1.0"
