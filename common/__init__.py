"""勾配演習コースの共通パッケージ (shared helpers imported by every notebook)."""

__all__ = [
    "activations",
    "cellframes",
    "datasets",
    "explain",
    "grad",
    "layers",
    "loss",
    "optimizers",
    "plotting",
    "syntax",
    "testing",
]
