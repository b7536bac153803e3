import pytest

torch = pytest.importorskip("torch")

from sample_pkg import normalize, pairwise_distances  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
def test_tensor_lives_on_the_gpu():
    x = torch.randn(1024, 64, device="cuda")
    assert x.is_cuda
    assert normalize(x).device.type == "cuda"


@needs_cuda
def test_gpu_matches_cpu():
    a, b = torch.randn(256, 32), torch.randn(128, 32)
    on_gpu = pairwise_distances(a.cuda(), b.cuda()).cpu()
    assert torch.allclose(on_gpu, pairwise_distances(a, b), atol=1e-4)
