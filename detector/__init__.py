"""cdr-detector: streaming fraud and anomaly detection for telecom call detail records."""

__version__ = "0.1.0"
