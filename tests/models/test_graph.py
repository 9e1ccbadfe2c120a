"""Tests for src/groklab/models/graph.py (NNConv network, Omnigrok Fig. 5). No rdkit needed:
molecules are packed from atom and bond lists."""

import pytest
import torch
import torch.nn.functional as F

from groklab import rng
from groklab.data.qm9 import MolGraph, atom_features, pack_graphs
from groklab.errors import SpecError
from groklab.models import build_model
from groklab.models.graph import NNConvNet, unpack_graphs
from groklab.models.shape import TaskShape
from groklab.spec import PRESETS, ModelSpec
from groklab.train.population import Population

WATER = MolGraph(
    [
        atom_features("O", hybridization="sp3", n_hydrogens=2),
        atom_features("H"),
        atom_features("H"),
    ],
    [(0, 1, 0), (0, 2, 0)],
)
# formaldehyde H2C=O: a double bond, so the two bond types get different edge matrices
FORMALDEHYDE = MolGraph(
    [
        atom_features("C", hybridization="sp2", n_hydrogens=2),
        atom_features("O", hybridization="sp2"),
        atom_features("H"),
        atom_features("H"),
    ],
    [(0, 1, 1), (0, 2, 0), (0, 3, 0)],
)
SMALL = ModelSpec(arch="nnconv", n_layers=2, d_model=8, d_mlp=6, mlp_bias=True)


def build(graphs, spec=SMALL, seed=0, init_scale=1.0):
    return build_model(
        spec,
        d_vocab=0,
        n_ctx=graphs.shape[1],
        d_out=1,
        generator=rng.generator(seed, rng.INIT),
        init_scale=init_scale,
        input_shape=tuple(graphs.shape[1:]),
    )


def loop_forward(net, graph: MolGraph):
    """Textbook NNConv on an edge list: for each atom, its root term plus, for every bond into
    it, x_j @ W(e_ij) with W(e) built explicitly by the edge network; then add-pool and MLP."""
    x = torch.tensor(graph.atoms)
    edges = [(i, j, b) for i, j, b in graph.bonds] + [(j, i, b) for i, j, b in graph.bonds]
    for conv in net.convs:
        new = []
        for i in range(len(x)):
            total = x[i] @ conv.W_root + conv.b
            for a, j, bond in edges:
                if a != i:
                    continue
                e = F.one_hot(torch.tensor(bond), 4).float()
                hidden = F.relu(e @ conv.edge_in.W + conv.edge_in.b)
                W = (hidden @ conv.edge_out.W + conv.edge_out.b).view(conv.d_in, conv.d_out)
                total = total + x[j] @ W
            new.append(F.relu(total))
        x = torch.stack(new)
    pooled = x.sum(0)
    return F.relu(pooled @ net.hidden.W + net.hidden.b) @ net.out.W + net.out.b


def test_dense_forward_matches_per_edge_loop_on_water_and_formaldehyde():
    graphs = pack_graphs([WATER, FORMALDEHYDE])
    net = build(graphs)
    expected = torch.stack([loop_forward(net, g) for g in (WATER, FORMALDEHYDE)])
    torch.testing.assert_close(net(graphs), expected)


def test_padding_atoms_change_nothing():
    tight = pack_graphs([WATER])
    padded = pack_graphs([WATER], n_atoms=9)
    net_tight, net_padded = build(tight), build(padded)
    # same parameters: only the input width differs, which no parameter depends on
    net_padded.load_state_dict(net_tight.state_dict())
    torch.testing.assert_close(net_padded(padded), net_tight(tight))


def test_unpack_returns_symmetric_adjacency_and_bond_types():
    mask, nodes, adj, bonds = unpack_graphs(pack_graphs([FORMALDEHYDE], n_atoms=6), 4)
    assert mask[0].tolist() == [1, 1, 1, 1, 0, 0]
    assert torch.equal(adj[0], adj[0].T) and adj[0].sum() == 6
    assert bonds[0, 0, 1].tolist() == [0, 1, 0, 0] and bonds[0, 1, 0].tolist() == [0, 1, 0, 0]
    assert bonds[0, 2, 0].tolist() == [1, 0, 0, 0] and bonds[0, 4].abs().sum() == 0
    assert nodes[0, 1].tolist() == atom_features("O", hybridization="sp2")


def test_population_of_two_equals_each_member():
    graphs = pack_graphs([WATER, FORMALDEHYDE], n_atoms=5)
    members = [build(graphs, seed=s, init_scale=a) for s, a in ((0, 1.0), (1, 3.0))]
    expected = torch.stack([m(graphs) for m in members])  # [M, B, 1]
    population = Population.stack(members)
    out = population(graphs.expand(2, *graphs.shape))
    torch.testing.assert_close(out, expected)


def test_paper_preset_has_the_notebooks_layer_shapes():
    graphs = pack_graphs([WATER], n_atoms=29)
    net = build(graphs, spec=PRESETS["omnigrok_qm9"])
    shapes = {n: tuple(p.shape) for n, p in net.named_parameters()}
    assert shapes["convs.0.edge_in.W"] == (4, 32) and shapes["convs.0.edge_out.W"] == (32, 11 * 32)
    assert shapes["convs.0.W_root"] == (11, 32) and shapes["convs.1.edge_out.W"] == (32, 32 * 16)
    assert shapes["hidden.W"] == (16, 32) and shapes["out.W"] == (32, 1)
    assert not net.convs[0].b.any()  # torch_geometric's NNConv starts its bias at zero


def test_init_is_deterministic_per_seed_and_differs_across_seeds():
    graphs = pack_graphs([WATER])
    a, b, c = build(graphs, seed=3), build(graphs, seed=3), build(graphs, seed=4)
    assert torch.equal(a(graphs), b(graphs)) and not torch.equal(a(graphs), c(graphs))


def test_token_inputs_are_refused_with_one_line():
    with pytest.raises(SpecError, match="arch='nnconv' reads packed graphs") as err:
        NNConvNet(SMALL, TaskShape(10, 4, 1, (4,)), torch.Generator())
    assert "\n" not in str(err.value)
