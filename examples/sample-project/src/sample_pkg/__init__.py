"""Small tensor helpers that run on whichever device their inputs live on."""

from __future__ import annotations

import torch

__all__ = ["best_device", "normalize", "pairwise_distances"]


def best_device() -> torch.device:
    """The first CUDA device when there is one, else the CPU."""
    return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Scale each row of `x` to unit L2 norm."""
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance between every row of `a` and every row of `b`."""
    return torch.cdist(a, b)
