"""勾配演習コースの共通パッケージ (shared helpers imported by every notebook)."""

__all__ = [
    "activations",
    "datasets",
    "grad",
    "layers",
    "loss",
    "optimizers",
    "plotting",
    "testing",
]
