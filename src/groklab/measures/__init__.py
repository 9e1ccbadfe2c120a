"""Measures: numbers per member computed from a member's weights and its task.

A measure is a function `fn(model, task) -> {name: value}` of one loaded member (a plain
`nn.Module` for one member and its `MemberTask`, as `groklab.load` returns them). It may
return several named values (a per-frequency measure returns one per frequency). Each is
registered once in `MEASURES` with the runs it applies to, whether it is cheap enough to
take at every evaluation during training, its family (`FAMILIES`: the report draws a family's
measures together) and the value names it stores. The values go to the store as ordinary
measures (`RunStore.write_metrics`), under the names the function returns; `measure_of` finds
the measure behind a stored name.

The registry names each function by "module:function" (`LazyFn`), imported at its first call,
so reading the registry (`groklab measure --help` lists it) loads no torch.

    >>> from groklab.measures import MEASURES
    >>> MEASURES["softmax_collapse"].fn(model, task)
    {'softmax_collapse': 0.93}
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from groklab.catalog import OPERATIONS
from groklab.measures import llc_spec

if TYPE_CHECKING:
    from torch import nn

    from groklab.loader import MemberTask
    from groklab.spec import RunSpec

MeasureFn = Callable[["nn.Module", "MemberTask"], dict[str, float]]


@dataclass(frozen=True)
class LazyFn:
    """A function named as "module:function", imported at its first call: the registry names
    each measure's code without importing it (torch), so `groklab measure --help` stays light."""

    target: str

    def __call__(self, *args, **kwargs):
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


@dataclass(frozen=True)
class MeasureInfo:
    name: str  # what `--measures NAME` selects
    fn: MeasureFn
    applies: Callable[[RunSpec], bool]  # the runs this measure is defined for
    cheap: bool  # cheap enough to take at every evaluation during training
    doc: str  # one line for `--help`
    family: str  # the kind of quantity, one of FAMILIES: the report draws a family together
    stores: tuple[str, ...]  # the value names fn returns: a name, or a prefix ending in "/"
    final: bool = False  # fn(model, task, final): also reads the member's last measured state
    settings: tuple[str, ...] = ()  # value names that record how the others were made
    legacy: tuple[str, ...] = ()  # the names an earlier release stored these values under

    def has_value(self, name: str) -> bool:
        """Whether `name` (a stored value name) is one of the values this measure stores (or
        stored under an earlier release's name)."""
        if name in self.legacy:
            return True
        return any(name.startswith(s) if s.endswith("/") else name == s for s in self.stores)


def _classification(spec: RunSpec) -> bool:
    return spec.train.loss in ("ce", "stablemax")


def _mod_p_table(spec: RunSpec) -> bool:
    """A table of an operation mod p (not S5) on a transformer: Z_p's Fourier basis applies."""
    data = spec.data
    return (
        data.dataset == "table"
        and not OPERATIONS[data.op].is_group
        and spec.model.arch == "transformer"
    )


def _multiplicative_table(spec: RunSpec) -> bool:
    """x * y or x / y mod a prime p: the multiplicative group's basis applies (groups.py)."""
    from groklab.measures.groups import group_of

    data = spec.data
    return _mod_p_table(spec) and group_of(data.op, data.p).name == "multiplicative"


def _s5_table(spec: RunSpec) -> bool:
    """A table of an S5 operation on a transformer: S5's irreducible representations apply
    (s5_irreps.py)."""
    data = spec.data
    return (
        data.dataset == "table"
        and OPERATIONS[data.op].is_group
        and spec.model.arch == "transformer"
    )


def _additive_table(spec: RunSpec) -> bool:
    """A mod-p table whose model is read in Z_p's additive basis (not x * y, x / y)."""
    return _mod_p_table(spec) and not _multiplicative_table(spec)


def _full_mod_p_table(spec: RunSpec) -> bool:
    """As `_additive_table`, with every pair (x, y) defined (a 2-D Fourier series needs them
    all)."""
    from groklab.data.ops import OPS

    return _additive_table(spec) and OPS[spec.data.op].defined is None


def _any(spec: RunSpec) -> bool:
    """Every run: a measure of the weight matrices any model has."""
    del spec
    return True


def _add(spec: RunSpec) -> bool:
    return _mod_p_table(spec) and spec.data.op == "add"


MEASURES: dict[str, MeasureInfo] = {
    info.name: info
    for info in (
        MeasureInfo(
            "softmax_collapse",
            LazyFn("groklab.measures.collapse:softmax_collapse_measure"),
            _classification,
            cheap=True,
            doc="fraction of training examples whose float32 softmax is exactly 1 at the "
            "correct class (Prieto et al. 2025)",
            family="collapse",
            stores=("softmax_collapse",),
        ),
        MeasureInfo(
            "zero_loss",
            LazyFn("groklab.measures.collapse:zero_loss_measure"),
            _classification,
            cheap=True,
            doc="fraction of training examples whose float32 cross-entropy is exactly 0",
            family="collapse",
            stores=("zero_loss",),
        ),
        MeasureInfo(
            "fourier_embed",
            LazyFn("groklab.measures.fourier:embed_fourier_measure"),
            _additive_table,
            cheap=True,
            doc="fourier/embed/k: the norm of W_E along frequency k of Z_p, the additive "
            "group's basis (Nanda et al. 2023); not for x*y, x/y (see fourier_embed_mul)",
            family="fourier",
            stores=("fourier/embed/",),
        ),
        MeasureInfo(
            "fourier_embed_mul",
            LazyFn("groklab.measures.fourier:embed_fourier_mul_measure"),
            _multiplicative_table,
            cheap=True,
            doc="x*y, x/y mod a prime p: fourier_mul/embed/k, the norm of W_E along frequency k "
            "of the multiplicative group Z_p^* (residues by discrete log), and gini_mul/W_E, "
            "gini_mul/W_L (Chughtai, Chan, Nanda 2023)",
            family="fourier",
            stores=("fourier_mul/embed/", "gini_mul/", "sum_sq_weights"),
        ),
        MeasureInfo(
            "fourier_embed_s5",
            LazyFn("groklab.measures.s5_irreps:embed_irrep_measure"),
            _s5_table,
            cheap=True,
            doc="S5 operations: fourier_s5/embed/<irrep>, the energy of W_E's element rows in "
            "each irreducible representation of S5 (trivial, sign, standard, standard_sign, "
            "five, five_sign, wedge2), and gini_s5/W_E, gini_s5/W_L: the Gini coefficient of "
            "the non-trivial irreps' RMS coefficients (Chughtai, Chan, Nanda 2023)",
            family="fourier",
            stores=("fourier_s5/embed/", "gini_s5/", "sum_sq_weights"),
        ),
        MeasureInfo(
            "gini",
            LazyFn("groklab.measures.fourier:gini_measure"),
            _additive_table,
            cheap=True,
            doc="gini/W_E, gini/W_L: Gini coefficient of the Fourier norms of W_E and of "
            "W_out W_U; sum_sq_weights (Nanda et al. 2023)",
            family="fourier",
            stores=("gini/", "sum_sq_weights"),
        ),
        MeasureInfo(
            "key_frequencies",
            LazyFn("groklab.measures.fourier:key_frequency_measure"),
            _full_mod_p_table,
            cheap=True,
            doc="fourier/neurons/k: share of MLP neurons whose activations are mostly "
            "frequency k; fourier/n_key: the number of key frequencies (Nanda et al. 2023)",
            family="fourier",
            stores=("fourier/neurons/", "fourier/n_key"),
        ),
        MeasureInfo(
            "restricted_loss",
            LazyFn("groklab.measures.fourier:restricted_final_measure"),
            _add,
            cheap=False,
            final=True,
            doc="Nanda et al. 2023's definition: restricted_loss_final_keys (test set, logits "
            "along the key frequencies' cos/sin(w(x+y)) only, plus each class's mean) and "
            "excluded_loss_final_keys (train set, all key frequencies removed together) with "
            "the key frequencies of the final model (the last measured state) at every step; "
            "x+y only",
            family="circuit",
            stores=("restricted_loss_final_keys", "excluded_loss_final_keys"),
        ),
        MeasureInfo(
            "restricted_loss_step_keys",
            LazyFn("groklab.measures.fourier:restricted_step_measure"),
            _add,
            cheap=True,
            doc="restricted_loss_step_keys, excluded_loss_step_keys: the same with each step's "
            "own key frequencies (none early in training: a false hump in the memorization "
            "phase); cheap, so available during training; x+y only",
            family="circuit",
            stores=("restricted_loss_step_keys", "excluded_loss_step_keys"),
            legacy=("restricted_loss", "excluded_loss"),
        ),
        MeasureInfo(
            "rqi",
            LazyFn("groklab.measures.rqi:rqi_measure"),
            LazyFn("groklab.measures.rqi:applies_to"),
            cheap=True,
            doc="toy_add: fraction of ideal parallelograms i+n=j+m the representation satisfies "
            "(Liu et al. 2022)",
            family="representation",
            stores=("rqi",),
        ),
        MeasureInfo(
            "llc",
            LazyFn("groklab.measures.llc:llc_measure"),
            LazyFn("groklab.measures.llc:applies_to"),
            cheap=False,
            settings=llc_spec.SETTINGS,
            doc="llc: local learning coefficient by SGLD around the member's weights (Lau et al. "
            "2023); llc_std: its spread over chains; llc_rhat, llc_drift: split-R-hat over "
            "chains and the relative drift between the halves of the draws (settled: about 1 "
            "and 0); llc_epsilon, llc_gamma, llc_n_beta, llc_chains, llc_draws, llc_burn_in: "
            "the sampler's settings; llc_trace/<chain>/<block>: each chain's trace (each "
            "draw's estimate) in 10 block means, in draw order",
            family="llc",
            stores=(
                "llc",
                "llc_std",
                "llc_rhat",
                "llc_drift",
                *llc_spec.SETTINGS,
                llc_spec.TRACE_PREFIX,
            ),
        ),
        MeasureInfo(
            "eff_rank",
            LazyFn("groklab.measures.spectral:effective_rank_measure"),
            _any,
            cheap=True,
            doc="eff_rank/<parameter>: exp of the entropy of each weight matrix's normalized "
            "singular values (Roy & Vetterli 2007); eff_rank2/<parameter>: (sum s)^2 / sum s^2",
            family="spectra",
            stores=("eff_rank/", "eff_rank2/"),
        ),
        MeasureInfo(
            "stable_rank",
            LazyFn("groklab.measures.spectral:stable_rank_measure"),
            _any,
            cheap=True,
            doc="stable_rank/<parameter>: ||W||_F^2 / ||W||_2^2 of each weight matrix",
            family="spectra",
            stores=("stable_rank/",),
        ),
        MeasureInfo(
            "participation_ratio",
            LazyFn("groklab.measures.spectral:participation_ratio_measure"),
            _any,
            cheap=True,
            doc="participation_ratio/<parameter>: (sum s^2)^2 / sum s^4, the participation ratio "
            "of the eigenvalues of W^T W of each weight matrix",
            family="spectra",
            stores=("participation_ratio/",),
        ),
        MeasureInfo(
            "htsr_alpha",
            LazyFn("groklab.measures.htsr:alpha_measure"),
            _any,
            cheap=True,
            doc="htsr_alpha/<parameter>: power-law exponent of the eigenvalues of W^T W of each "
            "weight matrix with >= 8 of them, fitted as weightwatcher does (Martin & Mahoney "
            "2021); alpha < 2 heralds anti-grokking (Prakash & Martin 2025)",
            family="spectra",
            stores=("htsr_alpha/",),
        ),
        MeasureInfo(
            "correlation_traps",
            LazyFn("groklab.measures.htsr:traps_measure"),
            _any,
            cheap=True,
            doc="correlation_traps/<parameter>: eigenvalues of each weight matrix with its "
            "entries shuffled beyond the Marchenko-Pastur bulk edge (Prakash & Martin 2025)",
            family="spectra",
            stores=("correlation_traps/",),
        ),
        MeasureInfo(
            "attn_head_cos",
            LazyFn("groklab.measures.attention:head_cosine_measure"),
            LazyFn("groklab.measures.attention:applies_to_heads"),
            cheap=True,
            doc="attn_head_cos/blocks.<i>.attn: mean pairwise cosine similarity of the heads' "
            "attention patterns at the answer position over every input (Verma 2026)",
            family="attention",
            stores=("attn_head_cos/",),
        ),
        MeasureInfo(
            "attn_entropy",
            LazyFn("groklab.measures.attention:entropy_measure"),
            LazyFn("groklab.measures.attention:applies_to"),
            cheap=True,
            doc="attn_entropy_std/blocks.<i>.attn: std over heads of each head's mean attention "
            "entropy at the answer position over every input (Verma 2026); attn_entropy/...: "
            "their mean",
            family="attention",
            stores=("attn_entropy_std/", "attn_entropy/"),
        ),
    )
}

# Selection names an earlier release used, for one release: the measure they select now.
# (restricted_loss_final_keys was the paper's definition while restricted_loss took each step's
# own key frequencies; restricted_loss is the paper's definition now.)
ALIASES: dict[str, str] = {"restricted_loss_final_keys": "restricted_loss"}

# The families, in the order the report draws them, with the heading of each one's section.
FAMILIES: dict[str, str] = {
    "fourier": "Fourier view in the group's basis (Nanda et al. 2023; Chughtai, Chan, Nanda 2023)",
    "circuit": "Restricted and excluded loss (Nanda et al. 2023)",
    "collapse": "Softmax collapse (Prieto et al. 2025)",
    "representation": "Representation quality (Liu et al. 2022)",
    "llc": "Local learning coefficient (Lau et al. 2023)",
    "spectra": "Weight spectra: ranks, participation ratio, HTSR (Martin & Mahoney 2021)",
    "attention": "Attention heads (Verma 2026)",
}


def measure_of(name: str) -> MeasureInfo | None:
    """The registered measure that stores the value `name` (the first, for `sum_sq_weights`,
    which three Fourier measures store alike), or None for a name no measure stores (a metric,
    `norm/<parameter>`, a user's own).

        >>> measure_of("eff_rank/W_E").name, measure_of("eff_rank/W_E").family
        ('eff_rank', 'spectra')
    """
    return next((info for info in MEASURES.values() if info.has_value(name)), None)
