"""Tests for src/groklab/train/losses.py."""

import math

import pytest
import torch
import torch.nn.functional as F

from groklab.train.losses import REGRESSION_TOLERANCE, example_correct, example_loss


def test_mse_against_one_hot_is_the_mean_over_classes_of_the_squared_error():
    out = torch.randn(2, 5, 4)
    targets = torch.randint(0, 4, (2, 5))
    expected = ((out - F.one_hot(targets, 4).float()) ** 2).mean(-1)
    torch.testing.assert_close(example_loss("mse", out, targets), expected)
    assert torch.equal(example_correct("mse", out, targets), out.argmax(-1) == targets)


def test_mse_with_templates_counts_the_nearest_template_as_the_answer():
    templates = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    out = torch.tensor([[[0.9, 1.2], [0.1, -0.1], [-0.8, 1.7]]])  # nearest: 1, 0, 2
    targets = torch.tensor([[1, 2, 2]])
    assert example_correct("mse", out, targets, templates).tolist() == [[True, False, True]]
    expected = ((out - templates[targets]) ** 2).mean(-1)
    torch.testing.assert_close(example_loss("mse", out, targets, templates), expected)


def test_regression_examples_are_correct_below_the_tolerance():
    targets = torch.zeros(1, 2, 3)
    small = (REGRESSION_TOLERANCE / 2) ** 0.5
    out = torch.tensor([[[small] * 3, [0.1] * 3]])
    assert example_correct("mse", out, targets).tolist() == [[True, False]]


def test_bce_uses_the_single_logit_and_its_sign():
    out = torch.tensor([[[2.0], [-1.0], [0.5]]])
    targets = torch.tensor([[1, 1, 0]])
    expected = F.binary_cross_entropy_with_logits(out[..., 0], targets.float(), reduction="none")
    torch.testing.assert_close(example_loss("bce", out, targets), expected)
    assert example_correct("bce", out, targets).tolist() == [[True, False, False]]


def test_cross_entropy_in_float64_on_request():
    out, targets = torch.randn(1, 3, 5), torch.tensor([[0, 4, 2]])
    loss = example_loss("ce", out, targets, dtype=torch.float64)
    assert loss.dtype == torch.float64
    torch.testing.assert_close(
        loss.float(), F.cross_entropy(out[0], targets[0], reduction="none")[None]
    )


def plain_stablemax_loss(logits: list[float], target: int) -> float:
    """Prieto et al.'s StableMax cross-entropy for one example, in Python floats (float64)."""
    s = [z + 1 if z >= 0 else 1 / (1 - z) for z in logits]
    return -math.log(s[target] / sum(s))


def test_stablemax_equals_a_plain_per_example_implementation():
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(3, 6, 7, generator=gen) * 4  # both signs, far from 0
    targets = torch.randint(0, 7, (3, 6), generator=gen)
    got = example_loss("stablemax", out, targets)
    assert got.dtype == torch.float64 and got.shape == (3, 6)
    for m in range(3):
        for b in range(6):
            want = plain_stablemax_loss(out[m, b].double().tolist(), int(targets[m, b]))
            assert got[m, b].item() == pytest.approx(want, rel=1e-12), (m, b)
    assert torch.equal(example_correct("stablemax", out, targets), out.argmax(-1) == targets)


def test_stablemax_stays_finite_and_positive_where_float32_softmax_gives_exactly_zero():
    out = torch.tensor([[[120.0, 0.0, -3.0], [0.0, 90.0, 1.0]]], requires_grad=True)  # [1, 2, 3]
    targets = torch.tensor([[0, 1]])
    softmax = example_loss("ce", out, targets)
    assert torch.equal(softmax, torch.zeros(1, 2))  # softmax collapse: loss and gradient vanish
    loss = example_loss("stablemax", out, targets)
    assert torch.isfinite(loss).all() and (loss > 0).all()
    (grad,) = torch.autograd.grad(loss.sum(), out)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert loss[0, 0].item() == pytest.approx(plain_stablemax_loss([120.0, 0.0, -3.0], 0))


def test_stablemax_of_very_negative_logits_has_no_nan_gradient():
    out = torch.tensor([[[-1e30, 0.0, 1e6]]], requires_grad=True)
    loss = example_loss("stablemax", out, torch.tensor([[2]]))
    (grad,) = torch.autograd.grad(loss.sum(), out)
    assert torch.isfinite(loss).all() and torch.isfinite(grad).all()
