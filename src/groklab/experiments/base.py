"""What an experiment is: a named function from a size ("paper", "quick", "micro") and an
output folder to figures, the numbers behind them (CSV) and a Markdown table.

`paper` uses the paper's numbers; `quick` runs on 2 CPU cores in minutes and says on the figure
and in the table what it shrank; `micro` is a smoke-test size for the test suite. Results are
reused from the store: the same experiment run twice trains nothing the second time.

A new experiment is one module of this package, `<firstauthor><year>_<what>.py`, that declares
a `kit.Study` (its sizes, notes, claims and outcome) and `kit.declare`s it, which registers its
`Experiment` here; `kit.run_study` is the one function that runs every experiment. Everything
experiments share lives in the kit below them, never in a sibling experiment: this module (the
registry, the context, Markdown), `kit` (the declaration and its runner), `common` (sizes'
notes, running points and sweeps, member curves) and `omnigrok_common` (landscapes, grokking
panels and their files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from groklab.errors import GroklabError
from groklab.experiments.claims import Claim, ClaimResult, caption, check_claims, write_claims
from groklab.files import write_text_atomic
from groklab.sweep.base import Backend, SweepProgress
from groklab.train.options import TrainOptions

SIZES = ("paper", "quick", "micro")


@dataclass(frozen=True)
class ExperimentContext:
    size: str  # one of SIZES
    out_dir: Path  # where figures, CSV and Markdown go (exists)
    store_root: Path  # the run store (reused across experiments)
    backend: str | Backend = "local"  # a name in sweep.BACKENDS or a backend object
    options: TrainOptions = TrainOptions()  # how each run trains: device, kept checkpoints
    progress: Callable[[SweepProgress], None] | None = None
    source: str = ""  # a user data file or directory, for experiments that read one

    @property
    def device(self) -> str | None:
        device = self.options.device
        return None if device is None else str(device)


@dataclass(frozen=True)
class ExperimentResult:
    paths: list[Path]  # every file written
    table: str  # the Markdown table (also written to a .md file)
    shrunk: str = ""  # what a non-paper size changed, "" for paper
    numbers: dict = field(default_factory=dict)  # key numbers, for RESULTS.md and tests
    claims: list[ClaimResult] = field(default_factory=list)  # the paper's claims, checked


@dataclass(frozen=True)
class Experiment:
    name: str  # e.g. "power2022-fraction"
    figure: str  # e.g. "Power et al. 2022, Fig. 1 center"
    description: str
    run: Callable[[ExperimentContext], ExperimentResult]
    reads_source: tuple[str, ...] = ()  # the sizes that read `--source` (ExperimentContext)
    claims: tuple[Claim, ...] = ()  # the paper's claims, each a rule on `numbers` (claims.py)

    def claim_sizes(self) -> tuple[str, ...]:
        """The sizes at which at least one claim is checked."""
        return tuple(s for s in SIZES if any(s in c.sizes for c in self.claims))

    def reproduce(self, ctx: ExperimentContext) -> ExperimentResult:
        """Run the experiment, check its claims on its numbers, write claims.md and claims.csv
        beside the figure and say on each figure how many held."""
        result = self.run(ctx)
        checked = check_claims(self.claims, result.numbers, ctx.size)
        paths = list(result.paths)
        if ctx.size in self.claim_sizes():
            for png in (p for p in result.paths if p.suffix == ".png"):
                add_caption(png, f"{self.figure}, {ctx.size} size: {caption(checked)}")
            paths += write_claims(ctx.out_dir, self.figure, checked)
        return replace(result, paths=paths, claims=checked)


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    EXPERIMENTS[experiment.name] = experiment
    return experiment


def load_all() -> dict[str, Experiment]:
    """Import every module of this package once; each registers its experiments."""
    import importlib
    import pkgutil

    import groklab.experiments as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base":
            importlib.import_module(f"{package.__name__}.{info.name}")
    return EXPERIMENTS


def listing(experiments: Iterable[Experiment]) -> list[str]:
    """One line per experiment, by name: name, figure and description in aligned columns
    (each column as wide as its longest entry)."""
    rows = sorted(experiments, key=lambda e: e.name)
    if not rows:
        return []
    name_width = max(len(e.name) for e in rows)
    figure_width = max(len(e.figure) for e in rows)
    return [f"{e.name:<{name_width}}  {e.figure:<{figure_width}}  {e.description}" for e in rows]


def get_experiment(name: str) -> Experiment:
    load_all()
    if name not in EXPERIMENTS:
        raise GroklabError(
            f"experiment {name!r} is unknown; choose one of "
            f"{', '.join(sorted(EXPERIMENTS))} (or --list)"
        )
    return EXPERIMENTS[name]


def add_caption(path: Path, text: str) -> None:
    """Add a line of text under the figure in the PNG at `path` (pixels kept as they are)."""
    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    from groklab.files import write_atomic

    image = mpimg.imread(path)  # [H, W, C]
    height, width = image.shape[:2]
    strip, dpi = 36, 100
    fig = Figure(figsize=(width / dpi, (height + strip) / dpi), dpi=dpi)
    fig.figimage(image, xo=0, yo=strip)
    fig.text(8 / width, strip / 2 / (height + strip), text, va="center", fontsize=11)
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=dpi), binary=True)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; floats with 4 significant digits, nan as 'never'."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return "never" if v != v else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, *, title: str, table: str, shrunk: str, notes: str = "") -> Path:
    """The experiment's table as a Markdown file, headed by what a non-paper size shrank."""
    parts = [f"# {title}\n"]
    if shrunk:
        parts.append(f"**Shrunk from the paper:** {shrunk}\n")
    parts.append(table)
    if notes:
        parts.append(f"\n{notes}\n")
    write_text_atomic(path, "\n".join(parts))
    return path
