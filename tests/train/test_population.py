import torch

from groklab import rng
from groklab.models import build_model
from groklab.spec import PRESETS, ModelSpec
from groklab.train.population import Population

SMALL = ModelSpec(n_layers=2, d_model=32, n_heads=4, d_mlp=64)


def members(spec, n=3):
    return [
        build_model(spec, d_vocab=15, n_ctx=4, d_out=13, generator=rng.generator(s, rng.INIT))
        for s in range(n)
    ]


def test_population_forward_equals_each_member():
    models = members(SMALL)
    tokens = torch.randint(0, 15, (3, 32, 4), generator=torch.Generator().manual_seed(0))
    expected = torch.stack([m(tokens[i]) for i, m in enumerate(models)])  # [M, B, V]
    torch.testing.assert_close(Population.stack(models)(tokens), expected)


def test_shared_input_forward_equals_each_member_for_mlp_and_nanda():
    for spec in (PRESETS["mlp"], PRESETS["nanda2023"]):
        models = members(spec)
        tokens = torch.randint(0, 15, (16, 4), generator=torch.Generator().manual_seed(0))
        expected = torch.stack([m(tokens) for m in models])
        torch.testing.assert_close(Population.stack(models).forward_shared(tokens), expected)


def test_population_gradient_equals_each_members_gradient():
    models = members(SMALL)
    tokens = torch.randint(0, 15, (3, 8, 4), generator=torch.Generator().manual_seed(0))
    pop = Population.stack(models)
    (grad,) = torch.autograd.grad(pop(tokens).square().mean((1, 2)).sum(), pop.flat)
    for i, m in enumerate(models):
        m(tokens[i]).square().mean().backward()
        expected = torch.cat([p.grad.flatten() for p in m.parameters()])
        torch.testing.assert_close(grad[i], expected)


def test_member_module_holds_that_members_weights():
    models = members(SMALL)
    pop = Population.stack(models)
    tokens = torch.randint(0, 15, (8, 4))
    torch.testing.assert_close(pop.member_module(2)(tokens), models[2](tokens))
    assert set(pop.layer_norms()) == {n for n, _ in models[0].named_parameters()}
    assert pop.layer_norms()["W_E"].shape == (3,)
