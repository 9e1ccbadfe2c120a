"""Liu et al. 2022's toy with a learned representation (models/toy.py, data toy_add_symbols):
the forward is the decoder of E_i + E_j, a population equals its members, a tiny run memorizes,
RQI reads the learned representation, and a data set of the wrong kind is one line."""

import pytest
import torch

from groklab.data.datasets import make_dataset
from groklab.errors import SpecError
from groklab.measures import MEASURES
from groklab.models import build_model
from groklab.models.toy import ToyAddition
from groklab.run import train
from groklab.spec import DataSpec, ModelSpec, OptimSpec, RunSpec, TrainSpec, members_from
from groklab.store import RunStore
from groklab.train.population import Population

SPEC = ModelSpec(arch="toy", n_layers=2, d_model=1, n_heads=1, d_mlp=16, act="tanh")


def member(seed: int) -> ToyAddition:
    return build_model(
        SPEC, d_vocab=7, n_ctx=2, d_out=30, generator=torch.Generator().manual_seed(seed)
    )


def test_the_forward_is_the_decoder_of_the_sum_of_two_learned_representations():
    model = member(0)
    pairs = torch.tensor([[0, 3], [2, 2], [5, 6]])
    h = model.representation[pairs[:, 0]] + model.representation[pairs[:, 1]]  # [B, 1]
    for layer in model.decoder[:-1]:
        h = torch.tanh(h @ layer.weight.T + layer.bias)
    expected = h @ model.decoder[-1].weight.T + model.decoder[-1].bias
    torch.testing.assert_close(model(pairs), expected)
    assert (model.representation.abs() <= 0.5).all()  # U(-1/2, 1/2), as the authors' code


def test_population_forward_equals_each_member():
    members = [member(s) for s in range(3)]
    pairs = torch.tensor([[0, 1], [3, 4], [6, 6]])
    expected = torch.stack([m(pairs) for m in members])
    got = Population.stack(members)(pairs.expand(3, -1, -1))
    torch.testing.assert_close(got, expected)


def test_the_symbols_data_set_is_every_unordered_pair_with_its_plain_sum():
    ds = make_dataset(DataSpec(dataset="toy_add_symbols", p=10))
    assert ds.inputs.shape == (55, 2) and ds.d_vocab == 10 and not ds.inputs.is_floating_point()
    assert (ds.inputs[:, 0] <= ds.inputs[:, 1]).all()
    assert torch.equal(ds.targets, ds.inputs.sum(1)) and ds.templates.shape == (19, 30)


def test_a_tiny_toy_memorizes_its_training_pairs(tmp_path):
    spec = RunSpec(
        data=DataSpec(dataset="toy_add_symbols", p=7),
        model=SPEC,
        optim=OptimSpec(warmup_steps=0),
        train=TrainSpec(steps=600, eval_every=100, loss="mse", batch_size="full"),
        members=members_from(seed=0, lr=1e-2, weight_decay=0.0, n_train=20),
    )
    result = train(spec, RunStore(tmp_path))
    assert result.curves["train_acc"][0, -1] == 1.0


def test_rqi_reads_the_learned_representation():
    model = member(0)
    task = type("T", (), {"spec": RunSpec(data=DataSpec(dataset="toy_add_symbols", p=7))})()
    with torch.no_grad():
        model.representation.copy_(torch.arange(7.0)[:, None] * 0.3 - 1)  # a line: RQI 1
    assert MEASURES["rqi"].fn(model, task) == {"rqi": 1.0}
    with torch.no_grad():
        model.representation.copy_(torch.tensor([[0.0], [1.0], [-1.0], [0.5], [2.0], [0.1], [3.0]]))
    assert MEASURES["rqi"].fn(model, task)["rqi"] < 0.5


def test_the_toy_on_a_table_of_tokens_or_on_features_is_one_line():
    with pytest.raises(SpecError, match="reads pairs of symbols"):
        build_model(SPEC, d_vocab=9, n_ctx=4, d_out=7, generator=torch.Generator())
    with pytest.raises(SpecError, match="gives features"):
        build_model(SPEC, d_vocab=0, n_ctx=1, d_out=7, generator=torch.Generator())
