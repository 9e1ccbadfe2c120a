import torch

from groklab.measures import MEASURES
from groklab.measures.collapse import softmax_collapse_fraction, zero_loss_fraction


def test_collapse_counts_exact_ones_only():
    targets = torch.tensor([0, 1, 2, 0])
    logits = torch.tensor(
        [
            [200.0, 0.0, 0.0],  # collapsed: exp(-200) underflows next to 1
            [0.0, 5.0, 0.0],  # confident, not collapsed
            [0.0, 0.0, 200.0],  # collapsed
            [0.0, 200.0, 0.0],  # collapsed at the wrong class: not counted
        ]
    )
    assert softmax_collapse_fraction(logits, targets).item() == 0.5
    assert zero_loss_fraction(logits, targets).item() == 0.5
    mask = torch.tensor([True, True, False, False])
    assert softmax_collapse_fraction(logits, targets, mask).item() == 0.5
    assert softmax_collapse_fraction(logits[1:2], targets[1:2]).item() == 0.0


def test_collapse_is_per_member_and_float32():
    # float64 logits are cast to float32 first: a margin of 20 collapses in float32 only
    logits = torch.zeros(2, 3, 4, dtype=torch.float64)
    targets = torch.zeros(2, 3, dtype=torch.int64)
    logits[0, :, 0] = 20.0
    got = softmax_collapse_fraction(logits, targets)
    assert got.tolist() == [1.0, 0.0]
    assert torch.softmax(logits[0, 0], -1)[0].item() < 1.0  # not collapsed in float64


def test_registry_names_match_the_values_returned():
    for name, info in MEASURES.items():
        assert info.name == name and info.doc
