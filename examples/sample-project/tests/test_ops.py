import pytest

torch = pytest.importorskip("torch")

from sample_pkg import best_device, normalize, pairwise_distances  # noqa: E402


def test_normalize_gives_unit_rows():
    x = torch.tensor([[3.0, 4.0], [0.0, 2.0]], device=best_device())
    assert torch.allclose(normalize(x).norm(dim=-1), torch.ones(2, device=x.device))


def test_pairwise_distances():
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    assert pairwise_distances(a, b).tolist() == [[5.0, 1.0]]
