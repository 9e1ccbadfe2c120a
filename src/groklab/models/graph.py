"""An edge-conditioned graph network (NNConv, Gilmer et al. 2017) for one member, written with
dense tensors so `vmap` runs a population at once (Omnigrok Fig. 5, Liu et al. 2023).

A batch of molecules arrives packed (`groklab.data.qm9.pack_graphs` writes it): one float
tensor per molecule of shape [A, 1 + F_node + A * (1 + F_edge)], A atoms at most, padded:

    column 0                      1 if row i is an atom, 0 for padding
    columns 1 .. F_node           the atom's features
    then A blocks of 1 + F_edge   block j: 1 if atoms i and j are bonded, then the bond's
                                  features (zeros where there is no bond)

An NNConv layer maps atom states x [A, F_in] to [A, F_out]:

    x'_i = x_i @ R + b + sum_j adj_ij * x_j @ W(e_ij)

where the edge network W(e) = reshape(relu(e @ U1 + c1) @ U2 + c2, [F_in, F_out]) turns a bond's
features into a matrix. Messages are summed ("add", the default of torch_geometric's NNConv that
the paper's code uses). W(e_ij) is never built: with h_ij = adj_ij * relu(e_ij @ U1 + c1) and
U2[h] the [F_in, F_out] slice of U2 for hidden unit h,

    sum_j adj_ij x_j @ W(e_ij) = sum_{j,h} h_ijh (x_j @ U2[h]) + (sum_j adj_ij x_j) @ C2

so each atom's state is projected once per hidden unit (A * H * F_in * F_out per molecule) and
the sum over neighbours is one matmul (A^2 * H * F_out), instead of a matrix per atom pair.

The paper's network (its QM9 notebook): NNConv 11 -> 32 and 32 -> 16, each with an edge network
4 -> 32 -> F_in * F_out, ReLU after each, global add pooling, then 16 -> 32 -> 1 with a ReLU.
From a `ModelSpec`: `n_layers` NNConv layers of widths d_model, d_model / 2, d_model / 4, ...
(the paper's 32, 16 for d_model 32), edge networks and the readout with one hidden layer of
d_mlp, `act` between layers, `mlp_bias` for every bias. Init as torch_geometric and PyTorch:
Linear layers U(+-1/sqrt(fan_in)) for weights and biases, the root weight R U(+-1/sqrt(F_in)),
the layer bias b zero.

Example:
    >>> net = NNConvNet(PRESETS["omnigrok_qm9"], TaskShape(0, 29, 1, (29, 157)),
    ...                 torch.Generator().manual_seed(0))
    >>> net(graphs).shape          # graphs [B, 29, 157]
    torch.Size([B, 1])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from groklab.errors import SpecError
from groklab.models.mlp import ACTIVATIONS
from groklab.models.shape import TaskShape
from groklab.spec import ModelSpec

N_EDGE_FEATURES = 4  # bond type one-hot: single, double, triple, aromatic


def unpack_graphs(graphs: Tensor, n_edge_features: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """graphs [B, A, 1 + F_node + A * (1 + F_edge)] -> (atom mask [B, A], atom features
    [B, A, F_node], adjacency [B, A, A], bond features [B, A, A, F_edge])."""
    b, a, width = graphs.shape
    n_node = width - 1 - a * (1 + n_edge_features)
    mask = graphs[..., 0]
    nodes = graphs[..., 1 : 1 + n_node]
    pairs = graphs[..., 1 + n_node :].reshape(b, a, a, 1 + n_edge_features)
    return mask, nodes, pairs[..., 0], pairs[..., 1:]


def _uniform(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> nn.Parameter:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=gen))


class Linear(nn.Module):
    """x @ W + b with PyTorch's default init, from the member's generator."""

    def __init__(self, d_in: int, d_out: int, *, bias: bool, generator: torch.Generator) -> None:
        super().__init__()
        self.W = _uniform((d_in, d_out), d_in, generator)
        self.b = _uniform((d_out,), d_in, generator) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.W if self.b is None else x @ self.W + self.b


class NNConv(nn.Module):
    """One edge-conditioned convolution, F_in -> F_out, messages summed over bonded atoms."""

    def __init__(
        self, d_in: int, d_out: int, spec: ModelSpec, n_edge: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.d_in, self.d_out = d_in, d_out
        bias = spec.mlp_bias
        self.edge_in = Linear(n_edge, spec.d_mlp, bias=bias, generator=generator)
        self.edge_out = Linear(spec.d_mlp, d_in * d_out, bias=bias, generator=generator)
        self.W_root = _uniform((d_in, d_out), d_in, generator)
        self.b = nn.Parameter(torch.zeros(d_out)) if bias else None
        self.act = ACTIVATIONS[spec.act]

    def forward(self, x: Tensor, adj: Tensor, edges: Tensor) -> Tensor:
        """x [B, A, F_in], adj [B, A, A], edges [B, A, A, F_edge] -> [B, A, F_out]."""
        b, a, _ = x.shape
        h = self.act(self.edge_in(edges)) * adj[..., None]  # [B, A, A, H]  bonds only
        U2 = self.edge_out.W.view(-1, self.d_in, self.d_out)  # [H, F_in, F_out]
        sent = x @ U2.transpose(0, 1).reshape(self.d_in, -1)  # [B, A, H * F_out]  x_j @ U2[h]
        out = h.reshape(b, a, -1) @ sent.view(b, -1, self.d_out)  # [B, A, F_out]  sum over j, h
        out = out + x @ self.W_root
        if self.edge_out.b is not None:
            neighbours = adj @ x  # [B, A, F_in]  sum of bonded atoms' states
            out = out + neighbours @ self.edge_out.b.view(self.d_in, self.d_out)
        return out if self.b is None else out + self.b


class NNConvNet(nn.Module):
    """NNConv layers, global add pooling over atoms, then an MLP to d_out outputs."""

    def __init__(
        self,
        spec: ModelSpec,
        shape: TaskShape,
        generator: torch.Generator,
        n_edge_features: int = N_EDGE_FEATURES,
    ) -> None:
        super().__init__()
        d_vocab, d_out, input_shape = shape.d_vocab, shape.d_out, shape.input_shape
        if d_vocab or len(input_shape) != 2:
            raise SpecError(
                f"arch='nnconv' reads packed graphs [atoms, features]; got input shape "
                f"{tuple(input_shape)}{' of tokens' if d_vocab else ''} (use dataset='qm9')"
            )
        n_atoms, width = input_shape
        self.n_edge = n_edge_features
        n_node = width - 1 - n_atoms * (1 + n_edge_features)
        widths = [n_node] + [spec.d_model // 2**i for i in range(spec.n_layers)]
        if n_node < 1 or widths[-1] < 1:
            raise SpecError(
                f"arch='nnconv' with d_model={spec.d_model}, n_layers={spec.n_layers} on input "
                f"shape {tuple(input_shape)}: need d_model >= 2^(n_layers - 1) and packed graphs"
            )
        self.convs = nn.ModuleList(
            NNConv(a, b, spec, n_edge_features, generator)
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.hidden = Linear(widths[-1], spec.d_mlp, bias=spec.mlp_bias, generator=generator)
        self.out = Linear(spec.d_mlp, d_out, bias=spec.mlp_bias, generator=generator)
        self.act = ACTIVATIONS[spec.act]

    def forward(self, graphs: Tensor, keep: Tensor | None = None) -> Tensor:
        """graphs [B, A, width] packed -> outputs [B, d_out]. `keep` (dropout) is unused."""
        del keep
        mask, x, adj, edges = unpack_graphs(graphs, self.n_edge)
        for conv in self.convs:
            x = self.act(conv(x, adj, edges)) * mask[..., None]  # padding atoms stay zero
        pooled = x.sum(1)  # [B, F]  global add pooling
        return self.out(self.act(self.hidden(pooled)))
