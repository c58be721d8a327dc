"""パラメータの更新方法 (『ゼロから作るDeep Learning』6 章, TwoLayerNet が使う)."""

__all__ = ["SGD"]


class SGD:
    """確率的勾配降下法 W ← W - lr * ∂L/∂W.

    Args:
        lr: 学習率.
    """

    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        """params の各配列を **その場で** 更新する (新しい配列は作らない).

        Args:
            params: {"W1": ndarray, ...} パラメータの dict (float 配列).
            grads: params と同じキー・同じ shape の勾配の dict.
        """
        for key in params:
            params[key] -= self.lr * grads[key]
