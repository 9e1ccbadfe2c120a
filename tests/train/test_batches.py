import math

import torch

from groklab.data import make_train_masks
from groklab.train.batches import BatchSampler, batch_size_for


def test_power_rule_is_min_512_and_half_the_training_set():
    assert batch_size_for("power", 4656) == 512
    assert batch_size_for("power", 85) == math.ceil(85 / 2)
    assert batch_size_for("full", 85) == 85
    assert batch_size_for(64, 40) == 40


def test_each_epoch_visits_every_training_example_once_when_the_batch_divides_the_split():
    masks = make_train_masks(169, [(0, 0.5), (1, 0.7)])
    sampler = BatchSampler(masks, [0, 1], "power")
    seen = [[], []]
    for _ in range(2):  # two batches = one epoch for the power rule
        idx, weight = sampler.next()
        for m in range(2):
            rows = idx[m] if weight is None else idx[m][weight[m] > 0]
            seen[m].extend(rows.tolist())
    for m in range(2):
        assert sorted(seen[m]) == masks[m].nonzero().flatten().tolist()


def test_members_with_different_batch_sizes_are_padded_with_zero_weight():
    masks = make_train_masks(169, [(0, 0.5), (1, 0.7)])  # 84 and 118 training examples
    idx, weight = BatchSampler(masks, [0, 1], "power").next()
    assert idx.shape == (2, 59)
    assert weight[0].sum() == 42 and weight[1].sum() == 59


def test_member_batches_do_not_depend_on_position_in_population():
    alone = BatchSampler(make_train_masks(121, [(7, 0.5)]), [7], 16)
    among = BatchSampler(make_train_masks(121, [(3, 0.5), (7, 0.5)]), [3, 7], 16)
    for _ in range(10):
        assert torch.equal(alone.next()[0][0], among.next()[0][1])


def test_sampler_state_round_trip_continues_the_same_sequence():
    masks = make_train_masks(121, [(0, 0.5), (1, 0.5)])
    a = BatchSampler(masks, [0, 1], 16)
    for _ in range(5):
        a.next()
    b = BatchSampler(masks, [0, 1], 16)
    b.load_state_dict(a.state_dict())
    for _ in range(10):
        assert torch.equal(a.next()[0], b.next()[0])


def test_batch_size_as_a_fraction_of_the_training_set():
    assert batch_size_for(0.25, 400) == 100
    assert batch_size_for(1.0, 37) == 37
    assert batch_size_for(0.001, 37) == 1


def test_every_minibatch_is_full_size_even_when_the_batch_does_not_divide_the_split():
    masks = make_train_masks(961, [(0, 0.8)])  # 769 training examples = 6 * 128 + 1
    sampler = BatchSampler(masks, [0], 128)
    batches = [sampler.next()[0][0] for _ in range(20)]
    assert all(len(b) == 128 for b in batches)
    for epoch in range(3):  # 6 batches per epoch, no example twice within one
        seen = torch.cat(batches[6 * epoch : 6 * epoch + 6]).tolist()
        assert len(set(seen)) == 768
