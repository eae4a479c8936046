import math

import pytest
import torch
import torch.nn.functional as F

from lenet.c3 import C3_GROUPS, C3_TABLE, SparseConv2d, c3_loop, connection_mask
from lenet.kernels import KERNELS, apply_kernel, conv2d_loops, conv2d_unfold, conv_output_size, get_kernel
from lenet.pooling import ScaledTanh, Subsampling, pool2d_loops, pool2d_vectorized, subsampling_loops
from lenet.rbf import DIGIT_BITMAPS, RBFOutput, map_loss

# ---------------------------------------------------------------- convolution


def test_conv_loops_and_unfold_equal_conv2d():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 11, generator=g, dtype=torch.float64)
    k = torch.randn(3, 3, generator=g, dtype=torch.float64)
    ref = F.conv2d(x[None, None], k[None, None])[0, 0]
    assert torch.allclose(conv2d_loops(x, k), ref)
    assert torch.allclose(
        conv2d_loops(x, k, padding=1, stride=2), F.conv2d(x[None, None], k[None, None], padding=1, stride=2)[0, 0]
    )
    xb = torch.randn(2, 3, 10, 10, generator=g)
    w = torch.randn(4, 3, 5, 5, generator=g)
    b = torch.randn(4, generator=g)
    assert torch.allclose(conv2d_unfold(xb, w, b, padding=2), F.conv2d(xb, w, b, padding=2), atol=1e-5)


@pytest.mark.parametrize(
    "n,k,p,s,want", [(32, 5, 0, 1, 28), (28, 5, 2, 1, 28), (14, 5, 0, 1, 10), (28, 2, 0, 2, 14), (7, 3, 1, 2, 4)]
)
def test_output_size(n, k, p, s, want):
    assert conv_output_size(n, k, p, s) == want


def test_output_size_rejects_bad_values():
    with pytest.raises(ValueError):
        conv_output_size(3, 5)
    with pytest.raises(ValueError):
        conv_output_size(10, 3, stride=0)


def test_kernels_are_the_source_texts():
    assert set(KERNELS) >= {"identity", "sharpen", "box_blur", "gaussian_blur_3x3", "gaussian_blur_5x5"}
    for name in ("box_blur", "gaussian_blur_3x3", "gaussian_blur_5x5", "identity", "sharpen"):
        assert math.isclose(KERNELS[name].sum().item(), 1.0, rel_tol=1e-6)  # brightness preserved
    for name in ("edge_diagonal", "edge_laplacian_4", "edge_laplacian_8"):
        assert KERNELS[name].sum().item() == 0  # flat regions -> 0
    img = torch.rand(16, 16)
    assert torch.allclose(apply_kernel(img, KERNELS["identity"]), img)
    with pytest.raises(KeyError, match="known kernels"):
        get_kernel("emboss")


# ---------------------------------------------------------------- pooling and subsampling


@pytest.mark.parametrize("seed", range(5))
def test_pooling_from_scratch_matches_torch(seed):
    x = torch.randn(2, 3, 9, 8, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(pool2d_loops(x, 2), F.max_pool2d(x, 2))
    # averages are summed in another order than torch's: equal up to float rounding (absolute,
    # since an average near 0 has no meaningful relative error)
    assert torch.allclose(pool2d_loops(x, 2, mode="avg"), F.avg_pool2d(x, 2), rtol=0, atol=1e-6)
    assert torch.equal(pool2d_loops(x, 3, stride=2), F.max_pool2d(x, 3, 2))
    assert torch.equal(pool2d_vectorized(x, 2), F.max_pool2d(x, 2))
    assert torch.allclose(pool2d_vectorized(x, 2, "avg"), F.avg_pool2d(x, 2), rtol=0, atol=1e-6)


def test_subsampling_against_loop():
    torch.manual_seed(0)
    layer = Subsampling(3)
    x = torch.randn(2, 3, 6, 6)
    ref = subsampling_loops(x, layer.coefficient.detach(), layer.bias.detach(), activation=ScaledTanh())
    assert torch.allclose(layer(x), ref, atol=1e-6)
    assert sum(p.numel() for p in layer.parameters()) == 6
    with pytest.raises(ValueError, match="got 4 channels"):
        layer(torch.randn(1, 4, 6, 6))


def test_scaled_tanh_constants():
    f = ScaledTanh()
    assert math.isclose(f(torch.tensor(1.0)).item(), 1.0, abs_tol=1e-4)  # f(1) = 1, f(-1) = -1
    assert math.isclose(f(torch.tensor(100.0)).item(), 1.7159, rel_tol=1e-6)


# ---------------------------------------------------------------- C3 / Table I


def test_table_one_of_the_paper():
    mask = connection_mask()
    assert mask.shape == (6, 16)
    # rows of Table I, read off the paper: which C3 maps each S2 map feeds
    rows = {
        0: [0, 4, 5, 6, 9, 10, 11, 12, 14, 15],
        1: [0, 1, 5, 6, 7, 10, 11, 12, 13, 15],
        2: [0, 1, 2, 6, 7, 8, 11, 13, 14, 15],
        3: [1, 2, 3, 6, 7, 8, 9, 12, 14, 15],
        4: [2, 3, 4, 7, 8, 9, 10, 12, 13, 15],
        5: [3, 4, 5, 8, 9, 10, 11, 13, 14, 15],
    }
    for i, cols in rows.items():
        assert mask[i].nonzero().flatten().tolist() == cols
    assert [len(t) for t in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert int(mask.sum()) == 60


def test_groups_contiguous_and_not():
    groups = dict(C3_GROUPS)

    def contiguous(maps):  # contiguous on a ring of 6
        s = set(maps)
        return any(s == {(start + d) % 6 for d in range(len(s))} for start in range(6))

    assert all(contiguous(C3_TABLE[j]) and len(C3_TABLE[j]) == 3 for j in groups["3 contiguous S2 maps"])
    assert all(contiguous(C3_TABLE[j]) and len(C3_TABLE[j]) == 4 for j in groups["4 contiguous S2 maps"])
    assert all(not contiguous(C3_TABLE[j]) and len(C3_TABLE[j]) == 4 for j in groups["4 non-contiguous S2 maps"])
    assert C3_TABLE[15] == tuple(range(6))


def test_sparse_conv_equals_per_map_loop_and_has_1516_parameters():
    torch.manual_seed(0)
    layer = SparseConv2d()
    x = torch.randn(3, 6, 14, 14)
    out = layer(x)
    assert out.shape == (3, 16, 10, 10)
    assert torch.allclose(out, c3_loop(x, layer), atol=1e-5)
    assert sum(p.numel() for p in layer.parameters()) == 1516
    # unconnected inputs have no influence on an output map
    x2 = x.clone()
    x2[:, 3] += 100.0  # S2 map 3 feeds C3 maps 1, 2, 3, ... but not map 0
    assert torch.allclose(layer(x2)[:, 0], out[:, 0])
    assert not torch.allclose(layer(x2)[:, 1], out[:, 1])


def test_sparse_conv_gradients_only_reach_connected_kernels():
    layer = SparseConv2d()
    layer(torch.randn(2, 6, 14, 14)).sum().backward()
    assert layer.weight.grad.shape == (60, 5, 5)
    assert layer.dense_weight().detach()[0, 3].abs().sum() == 0


def test_sparse_conv_validates_table_and_input():
    with pytest.raises(ValueError, match="only 6"):
        SparseConv2d(6, [(0, 7)])
    with pytest.raises(ValueError, match="empty"):
        SparseConv2d(6, [()])
    with pytest.raises(ValueError, match=r"\(N, 6, H, W\)"):
        SparseConv2d()(torch.randn(1, 16, 14, 14))


# ---------------------------------------------------------------- RBF and the MAP loss


def test_bitmaps():
    assert DIGIT_BITMAPS.shape == (10, 12, 7)
    assert set(DIGIT_BITMAPS.unique().tolist()) == {-1.0, 1.0}
    flat = DIGIT_BITMAPS.reshape(10, -1)
    d = torch.cdist(flat, flat)
    assert (d + torch.eye(10) * 1e9).min() > 0  # all ten codes distinct


def test_rbf_is_squared_euclidean_distance():
    layer = RBFOutput()
    x = torch.randn(4, 84)
    want = torch.stack(
        [
            torch.stack([sum((x[n, j] - layer.centres[i, j]) ** 2 for j in range(84)) for i in range(10)])
            for n in range(4)
        ]
    )
    assert torch.allclose(layer(x), want, atol=1e-4)
    assert torch.allclose(layer(DIGIT_BITMAPS.reshape(10, 84))[torch.arange(10), torch.arange(10)], torch.zeros(10))
    assert sum(p.numel() for p in layer.parameters()) == 0


def test_map_loss_against_hand_computation():
    y = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.1, 4.0]])
    t = torch.tensor([0, 1])
    j = 0.1
    hand = [
        1.0 + math.log(math.exp(-j) + math.exp(-1) + math.exp(-2) + math.exp(-3)),
        0.1 + math.log(math.exp(-j) + math.exp(-0.5) + math.exp(-0.1) + math.exp(-4)),
    ]
    assert torch.allclose(map_loss(y, t, j, reduction="none"), torch.tensor(hand))
    assert math.isclose(map_loss(y, t, j).item(), sum(hand) / 2, rel_tol=1e-6)
    # huge penalties do not overflow
    assert torch.isfinite(map_loss(torch.full((1, 10), 1e4), torch.tensor([3]))).all()


def test_map_loss_tends_to_cross_entropy_as_j_grows():
    y = torch.rand(5, 10) * 3
    t = torch.randint(0, 10, (5,))
    assert torch.allclose(map_loss(y, t, j=50.0), F.cross_entropy(-y, t), atol=1e-5)


def test_map_loss_validates():
    with pytest.raises(ValueError, match="target"):
        map_loss(torch.zeros(2, 10), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="non-negative"):
        map_loss(torch.zeros(2, 10), torch.zeros(2, dtype=torch.long), j=-1)


def test_stripe_orientation_of_simple_kernels():
    from lenet.kernels import KERNELS, stripe_orientation

    horizontal, vertical, slash = torch.zeros(5, 5), torch.zeros(5, 5), torch.zeros(5, 5)
    horizontal[2] = 1
    vertical[:, 2] = 1
    for i in range(5):
        slash[4 - i, i] = 1  # "/": bottom left to top right
    assert stripe_orientation(horizontal) == pytest.approx((0.0, 1.0))
    assert stripe_orientation(vertical) == pytest.approx((90.0, 1.0))
    assert stripe_orientation(slash) == pytest.approx((45.0, 1.0))
    assert stripe_orientation(torch.ones(3, 3)) == (0.0, 0.0)
    assert stripe_orientation(KERNELS["box_blur"])[1] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="at least 3x3"):
        stripe_orientation(torch.ones(2, 2))


def test_true_convolution_is_cross_correlation_with_the_kernel_flipped():
    from lenet.kernels import convolve2d_loops

    g = torch.Generator().manual_seed(3)
    x, w = torch.randn(9, 8, generator=g, dtype=torch.float64), torch.randn(3, 3, generator=g, dtype=torch.float64)
    want = F.conv2d(x[None, None], w.flip(0, 1)[None, None])[0, 0]
    assert torch.allclose(convolve2d_loops(x, w), want)


def test_conv_loops_wants_a_square_kernel():
    from lenet.kernels import conv2d_loops

    with pytest.raises(ValueError, match="square"):
        conv2d_loops(torch.zeros(5, 5), torch.zeros(2, 3))


def test_patch_matrix_draws_the_im2col_product():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lenet import viz

    image = torch.arange(16.0).reshape(4, 4)
    fig = viz.patch_matrix(image, torch.ones(2, 2))
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    sums = F.conv2d(image[None, None], torch.ones(1, 1, 2, 2))[0, 0]
    assert all(f"{v:g}" in texts for v in sums.flatten().tolist())  # the product's row: every window's sum
    plt.close(fig)
