"""`groklab measure`, `train --measures`, and the measures in `curves` and `plot`."""

import numpy as np
import pytest
import torch

import groklab
from groklab.measures import MEASURES
from groklab.store import RunStore

TINY = ["--op", "add", "--p", "7", "--model", "nanda2023", "--d-model", "16", "--n-heads", "2",
        "--d-mlp", "16", "--steps", "4", "--eval-every", "2", "--seeds", "0,1",
        "--train-fraction", "0.5"]  # fmt: skip
QUICK_LLC = ["--llc-chains", "2", "--llc-draws", "4", "--llc-burn-in", "2"]  # every measure, fast


def train(run_cli, store, *extra: str) -> str:
    status, out, err = run_cli(["train", "--store", str(store), *TINY, *extra])
    assert status == 0, err
    return out.split()[1].rstrip(":")  # "run r-...: ..."


def direct(store, run_id: str, member: int, step: int, name: str) -> dict[str, float]:
    model, task = groklab.load(run_id, member, step, store=store)
    return MEASURES[name].fn(model, task)


def test_measure_stores_each_measure_at_every_kept_step_equal_to_computing_it_directly(
    run_cli, tmp_path
):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--keep-checkpoints", "every:2")
    status, out, err = run_cli(["measure", run_id, "--store", str(store), *QUICK_LLC])
    assert status == 0, err
    assert "3 checkpoints" in out
    names = [n for n, m in MEASURES.items() if m.applies(groklab_spec(store, run_id))]
    assert {"fourier_embed", "gini", "key_frequencies", "restricted_loss_step_keys"} <= set(names)
    with RunStore(store) as s:
        run = s.resolve(run_id)
        assert sorted(s.kept_checkpoints(run)) == [0, 2, 4]
        names = [n for n in s.measure_names(run) if n.startswith(("fourier/", "gini/"))]
        stored = s.read_measures(
            run, [*names, "restricted_loss_step_keys", "excluded_loss_step_keys", "sum_sq_weights"]
        )
    assert list(stored["step"]) == [0, 2, 4]
    for step_index, step in enumerate([0, 2, 4]):
        for member in (0, 1):
            for name in ("fourier_embed", "restricted_loss_step_keys", "gini"):
                for key, value in direct(store, run_id, member, step, name).items():
                    assert stored[key][member, step_index] == pytest.approx(value, rel=1e-6)


def test_measure_stores_the_papers_restricted_loss_with_the_final_keys_at_every_step(
    run_cli, tmp_path
):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--keep-checkpoints", "every:2")
    status, _, err = run_cli(["measure", run_id, "--store", str(store), *QUICK_LLC])  # all
    assert status == 0, err
    names = ["restricted_loss_final_keys", "excluded_loss_final_keys"]
    with RunStore(store) as s:
        stored = s.read_measures(s.resolve(run_id), names)
    info = MEASURES["restricted_loss"]  # the paper's definition is the default
    for member in (0, 1):
        final, _ = groklab.load(run_id, member, 4, store=store)
        for index, step in enumerate([0, 2, 4]):
            model, task = groklab.load(run_id, member, step, store=store)
            for name, value in info.fn(model, task, final).items():
                assert stored[name][member, index] == pytest.approx(value, rel=1e-6)


def groklab_spec(store, run_id):
    import json

    from groklab.config import spec_from_dict

    with RunStore(store) as s:
        return spec_from_dict(json.loads(s.get_run(s.resolve(run_id)).spec_json))


def test_measure_resumes_skipping_what_is_stored(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--keep-checkpoints", "every:2")
    status, out, _ = run_cli(["measure", run_id, "--store", str(store), "--measures", "gini"])
    assert status == 0 and "3 (step, measure) computed, 0 already stored" in out
    args = ["measure", run_id, "--store", str(store), "--measures", "gini,fourier_embed"]
    status, out, _ = run_cli(args)
    assert status == 0 and "3 (step, measure) computed, 3 already stored" in out
    status, out, _ = run_cli(args)
    assert status == 0 and "0 (step, measure) computed, 6 already stored" in out


def test_unknown_or_inapplicable_measure_is_one_line_exit_2_and_writes_nothing(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--op", "div")
    with RunStore(store) as s:
        before = s.measure_names(s.resolve(run_id))
    measure = ["measure", run_id, "--store", str(store), "--measures"]
    status, _, err = run_cli([*measure, "nope"])
    assert status == 2 and err.count("\n") == 1 and "'nope' is not a measure" in err
    status, _, err = run_cli([*measure, "fourier_embed_mul,restricted_loss"])  # x/y: mul basis
    assert status == 2 and err.count("\n") == 1
    assert "'restricted_loss' does not apply to div p=7" in err
    status, _, err = run_cli(
        ["train", "--store", str(store), *TINY, "--measures", "restricted_loss", "--op", "div",
         "--seeds", "5"]
    )  # fmt: skip
    assert status == 2 and err.count("\n") == 1 and "does not apply" in err
    with RunStore(store) as s:
        assert [r.run_id for r in s.list_runs()] == [s.resolve(run_id)]  # no second run
        assert s.measure_names(s.resolve(run_id)) == before


def test_the_papers_restricted_loss_runs_after_training_and_its_old_name_still_selects_it(
    run_cli, tmp_path
):
    store = tmp_path / "runs"
    status, _, err = run_cli(
        ["train", "--store", str(store), *TINY, "--measures", "restricted_loss", "--seeds", "5"]
    )
    assert status == 2 and err.count("\n") == 1
    assert "reads the run's final state" in err and "restricted_loss_step_keys" in err
    if store.exists():
        with RunStore(store) as s:
            assert not s.list_runs()  # nothing trained
    run_id = train(run_cli, store, "--keep-checkpoints", "every:2")
    measure = ["measure", run_id, "--store", str(store), "--measures"]
    status, out, err = run_cli([*measure, "restricted_loss_final_keys"])  # the old name
    assert status == 0 and "3 (step, measure) computed" in out, err
    status, out, _ = run_cli([*measure, "restricted_loss"])
    assert status == 0 and "0 (step, measure) computed, 3 already stored" in out


def test_train_measures_takes_cheap_measures_at_every_evaluation(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--measures", "fourier_embed,restricted_loss_step_keys")
    with RunStore(store) as s:
        run = s.resolve(run_id)
        stored = s.read_measures(run, ["fourier/embed/2", "restricted_loss_step_keys"])
        evaluated = s.read_curves(run)["step"]
    assert list(stored["step"]) == list(evaluated) and evaluated[-1] == 4
    assert np.isfinite(stored["restricted_loss_step_keys"]).all()
    final = direct(store, run_id, 1, 4, "fourier_embed")["fourier/embed/2"]
    assert stored["fourier/embed/2"][1, -1] == pytest.approx(final, rel=1e-6)


def test_curves_and_plot_show_the_new_measures(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--measures", "all")
    csv = tmp_path / "c.csv"
    status, _, err = run_cli(["curves", run_id, "--store", str(store), "--out", str(csv), "--all"])
    assert status == 0, err
    header = csv.read_text().splitlines()[0].split(",")
    steps = {"restricted_loss_step_keys", "excluded_loss_step_keys"}
    assert {*steps, "gini/W_E", "fourier/embed/3"} <= set(header)
    assert "restricted_loss_final_keys" not in header  # it needs the final state: not in "all"
    picked = ["curves", run_id, "--store", str(store), "--out", str(csv), "--measures"]
    status, _, err = run_cli([*picked, "gini/W_E,fourier/embed/"])  # a prefix: all under it
    assert status == 0, err
    header = csv.read_text().splitlines()[0].split(",")
    under = [h for h in header if h.startswith("fourier/embed/")]
    assert header[header.index("gini/W_E") + 1 :] == under and len(under) > 1
    status, _, err = run_cli([*picked, "nothing/"])
    assert status == 2 and err.count("\n") == 1 and "no measure under 'nothing/'" in err
    png = tmp_path / "m.png"
    args = ["plot", run_id, "--store", str(store), "--out", str(png)]
    status, _, err = run_cli([*args, "--measures", f"{','.join(steps)},fourier/embed/"])
    assert status == 0, err
    assert png.read_bytes()[:4] == b"\x89PNG"
    status, _, err = run_cli([*args, "--measures", "nothing/"])
    assert status == 2 and "no measure under 'nothing/'" in err


def test_measures_during_training_leave_the_training_itself_unchanged(run_cli, tmp_path):
    plain = train(run_cli, tmp_path / "a")
    measured = train(run_cli, tmp_path / "b", "--measures", "all")
    assert plain == measured  # the run id does not depend on what is measured
    with RunStore(tmp_path / "a") as a, RunStore(tmp_path / "b") as b:
        ca, cb = a.read_curves(a.resolve(plain)), b.read_curves(b.resolve(plain))
    for name in ("train_loss", "val_loss", "weight_norm"):
        assert np.array_equal(ca[name], cb[name])


TINY_MLP = ["--op", "add", "--p", "11", "--model", "mlp", "--d-model", "8", "--d-mlp", "16",
            "--steps", "4", "--eval-every", "2", "--seeds", "0,1", "--train-fraction", "0.5",
            "--keep-checkpoints", "every:2"]  # fmt: skip
SPECTRAL = ["eff_rank", "stable_rank", "participation_ratio", "htsr_alpha", "correlation_traps"]


@pytest.mark.parametrize("model", ["transformer", "mlp"])
def test_measure_stores_the_spectra_of_every_weight_matrix(run_cli, tmp_path, model):
    store = tmp_path / "runs"
    tiny = TINY_MLP if model == "mlp" else [*TINY, "--p", "11", "--keep-checkpoints", "every:2"]
    run_id = train(run_cli, store, *tiny)
    status, out, err = run_cli(["measure", run_id, "--store", str(store), "--measures",
                                ",".join(SPECTRAL)])  # fmt: skip
    assert status == 0, err
    assert "3 checkpoints, 15 (step, measure) computed" in out
    expected = {}
    for name in SPECTRAL:
        expected.update(direct(store, run_id, 1, 4, name))
    matrix = "W_E" if model == "transformer" else "layers.0.weight"
    assert {f"eff_rank/{matrix}", f"eff_rank2/{matrix}", f"stable_rank/{matrix}",
            f"participation_ratio/{matrix}", f"htsr_alpha/{matrix}",
            f"correlation_traps/{matrix}"} <= set(expected)  # fmt: skip
    with RunStore(store) as s:
        stored = s.read_measures(s.resolve(run_id), list(expected))
    assert list(stored["step"]) == [0, 2, 4]
    for name, value in expected.items():
        assert stored[name][1, -1] == pytest.approx(value, rel=1e-9)
        assert np.isfinite(stored[name]).all()


def test_measure_stores_the_attention_head_measures_of_a_transformer(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11", "--keep-checkpoints", "every:2")
    args = ["measure", run_id, "--store", str(store), "--measures", "attn_head_cos,attn_entropy"]
    status, out, err = run_cli(args)
    assert status == 0, err
    assert "3 checkpoints, 6 (step, measure) computed" in out
    names = ["attn_head_cos/blocks.0.attn", "attn_entropy_std/blocks.0.attn",
             "attn_entropy/blocks.0.attn"]  # fmt: skip
    with RunStore(store) as s:
        stored = s.read_measures(s.resolve(run_id), names)
    for member in (0, 1):
        expected = direct(store, run_id, member, 4, "attn_head_cos")
        expected.update(direct(store, run_id, member, 4, "attn_entropy"))
        assert set(expected) == set(names)
        for name in names:
            assert stored[name][member, -1] == pytest.approx(expected[name], rel=1e-9)
    assert ((stored[names[0]] > 0) & (stored[names[0]] <= 1 + 1e-12)).all()


def test_attention_measures_on_an_mlp_run_are_one_line_exit_2_and_write_nothing(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, *TINY_MLP)
    with RunStore(store) as s:
        before = s.measure_names(s.resolve(run_id))
    for name in ("attn_head_cos", "eff_rank,attn_entropy"):
        status, out, err = run_cli(["measure", run_id, "--store", str(store), "--measures", name])
        assert status == 2 and out == "" and err.count("\n") == 1
        assert "does not apply to add p=11" in err and "eff_rank" in err.split("do:")[1]
    status, _, err = run_cli(["train", "--store", str(store), *TINY_MLP, "--seeds", "5",
                              "--measures", "attn_entropy"])  # fmt: skip
    assert status == 2 and err.count("\n") == 1 and "does not apply" in err
    with RunStore(store) as s:
        assert [r.run_id for r in s.list_runs()] == [s.resolve(run_id)]  # no second run
        assert s.measure_names(s.resolve(run_id)) == before


def test_train_takes_the_new_measures_at_every_evaluation(run_cli, tmp_path):
    store = tmp_path / "runs"
    chosen = [*SPECTRAL, "attn_head_cos", "attn_entropy"]
    run_id = train(run_cli, store, "--p", "11", "--measures", ",".join(chosen))
    expected = {}
    for name in chosen:
        expected.update(direct(store, run_id, 1, 4, name))
    with RunStore(store) as s:
        run = s.resolve(run_id)
        stored = s.read_measures(run, list(expected))
        evaluated = s.read_curves(run)["step"]
    assert list(stored["step"]) == list(evaluated) and evaluated[-1] == 4
    for name, value in expected.items():
        assert np.isfinite(stored[name]).all(), name
        assert stored[name][1, -1] == pytest.approx(value, rel=1e-6), name


FAST_LLC = ["--llc-chains", "2", "--llc-draws", "6", "--llc-burn-in", "2"]
LLC_NAMES = ["llc", "llc_std", "llc_rhat", "llc_drift", "llc_epsilon", "llc_gamma", "llc_n_beta",
             "llc_chains", "llc_draws", "llc_burn_in"]  # fmt: skip


def test_measure_stores_the_llc_with_its_diagnostics_and_settings(run_cli, tmp_path):
    from groklab.measures.llc import SGLDSpec, member_llc

    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11", "--keep-checkpoints", "every:2")
    args = ["measure", run_id, "--store", str(store), "--measures", "llc", *FAST_LLC]
    status, out, err = run_cli(args)
    assert status == 0, err
    with RunStore(store) as s:
        stored = s.read_measures(s.resolve(run_id), LLC_NAMES)
    model, task = groklab.load(run_id, 1, 4, store=store)
    result = member_llc(model, task, SGLDSpec(chains=2, draws=6, burn_in=2))
    assert stored["llc"][1, -1] == pytest.approx(result.llc.item(), rel=1e-6)
    assert stored["llc_rhat"][1, -1] == pytest.approx(result.rhat.item(), rel=1e-6)
    assert stored["llc_drift"][1, -1] == pytest.approx(result.drift.item(), rel=1e-6)
    assert stored["llc_n_beta"][1, -1] == pytest.approx(result.n_beta, rel=1e-12)
    assert (stored["llc_draws"] == 6).all() and (stored["llc_epsilon"] == 1e-4).all()


def test_measure_recomputes_the_llc_when_its_settings_change(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11", "--keep-checkpoints", "every:2")
    args = ["measure", run_id, "--store", str(store), "--measures", "llc"]
    status, out, _ = run_cli([*args, *FAST_LLC])
    assert status == 0 and "3 (step, measure) computed, 0 already stored" in out
    status, out, _ = run_cli([*args, *FAST_LLC])
    assert status == 0 and "0 (step, measure) computed, 3 already stored" in out
    status, out, _ = run_cli([*args, *FAST_LLC, "--llc-draws", "8"])  # the last flag wins
    assert status == 0 and "3 (step, measure) computed, 0 already stored" in out
    with RunStore(store) as s:
        assert (s.read_measures(s.resolve(run_id), ["llc_draws"])["llc_draws"] == 8).all()


def test_a_bad_llc_setting_is_one_line_naming_its_flag_exit_2(run_cli, tmp_path):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11")
    with RunStore(store) as s:
        before = s.measure_names(s.resolve(run_id))
    for flag, value in (("--llc-epsilon", "0"), ("--llc-burn-in", "-1")):
        status, out, err = run_cli(["measure", run_id, "--store", str(store), flag, value])
        assert status == 2 and out == "" and err.count("\n") == 1 and f"{flag}=" in err
    args = ["measure", run_id, "--store", str(store), "--measures", "gini", "--llc-draws", "9"]
    status, out, err = run_cli(args)
    assert status == 2 and err.count("\n") == 1 and "leaves llc out" in err
    with RunStore(store) as s:
        assert s.measure_names(s.resolve(run_id)) == before


@pytest.fixture
def quadratic_llc(monkeypatch):
    """The llc measure of any member on L(w) = 1/2 ||w - w*||^2 with n = 1000 (lambda = P/2),
    so that whether its chains settle depends on the sampler alone."""
    from groklab.measures import llc

    def loss_of(model, task):
        w_star = torch.cat([p.detach().reshape(-1) for p in model.parameters()])[None]
        return (lambda w: 0.5 * (w - w_star).pow(2).sum(-1)), w_star, 1000

    monkeypatch.setattr(llc, "member_loss_fn", loss_of)


def test_measure_warns_in_one_line_when_llc_chains_have_not_settled(
    run_cli, tmp_path, quadratic_llc
):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11", "--keep-checkpoints", "every:2")
    args = ["measure", run_id, "--store", str(store), "--measures", "llc", "--llc-chains", "2"]
    status, out, err = run_cli([*args, "--llc-epsilon", "1e-7", "--llc-burn-in", "0",
                                "--llc-draws", "20"])  # fmt: skip
    assert status == 0 and "3 checkpoints" in out
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith("groklab: warning: llc chains have not")
    assert "step 0 (members 0, 1), step 2 (members 0, 1), step 4 (members 0, 1)" in warnings[0]
    assert "raise --llc-burn-in (now 0)" in warnings[0]
    status, out, err = run_cli([*args, "--llc-epsilon", "5e-3", "--llc-gamma", "1",
                                "--llc-burn-in", "100", "--llc-draws", "200"])  # fmt: skip
    assert status == 0 and "3 checkpoints, 3 (step, measure) computed" in out
    assert "warning" not in err


CALIBRATE = ["--calibrate-llc", "--epsilons", "1e-4,1e-3,10", "--n-betas", "10,100",
             "--llc-chains", "2", "--llc-draws", "8", "--llc-burn-in", "2"]  # fmt: skip


def test_calibrate_llc_writes_the_grid_as_csv_png_and_traces(run_cli, tmp_path):
    from dataclasses import replace

    from groklab.measures.llc import SGLDSpec, member_llc

    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11", "--keep-checkpoints", "every:2")
    out = tmp_path / "cal" / "deep"
    args = ["measure", run_id, "--store", str(store), *CALIBRATE, "--member", "1", "--step", "2"]
    status, stdout, err = run_cli([*args, "--out", str(out)])
    assert status == 0, err
    assert "step 2: 6 cells" in stdout and "2 diverged" in stdout  # eps = 10 blows up
    rows = [line.split(",") for line in (out / "llc_calibration.csv").read_text().splitlines()]
    assert rows[0] == ["epsilon", "n_beta", "llc", "llc_std", "llc_rhat", "llc_drift", "diverged"]
    assert [(float(r[0]), float(r[1]), r[-1]) for r in rows[1:]] == [
        (1e-4, 10.0, "0"), (1e-4, 100.0, "0"), (1e-3, 10.0, "0"), (1e-3, 100.0, "0"),
        (10.0, 10.0, "1"), (10.0, 100.0, "1"),
    ]  # fmt: skip
    model, task = groklab.load(run_id, 1, 2, store=store)
    cell = replace(SGLDSpec(chains=2, draws=8, burn_in=2), epsilon=1e-3, n_beta=100.0)
    expected = member_llc(model, task, cell)
    assert float(rows[4][2]) == pytest.approx(expected.llc.item(), rel=1e-5)
    assert float(rows[4][4]) == pytest.approx(expected.rhat.item(), rel=1e-5)
    traces = np.load(out / "llc_traces.npz")
    assert traces["traces"].shape == (3, 2, 8, 2)
    np.testing.assert_allclose(traces["traces"][1, 1], expected.traces[:, :, 0], rtol=1e-5)
    assert (out / "llc_calibration.png").read_bytes()[:4] == b"\x89PNG"
    with RunStore(store) as s:
        assert not any(n.startswith("llc") for n in s.measure_names(s.resolve(run_id)))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epsilons", "1e-4,0"], "--epsilons: 0 is not allowed; values must be > 0"),
        (["--epsilons=-1e-3"], "--epsilons: -0.001 is not allowed"),
        (["--n-betas", ","], "--n-betas is empty"),
        (["--n-betas", "ten"], "--n-betas 'ten' is not a list of numbers"),
        (["--step", "3"], "step=3 is not a kept step"),
        (["--member", "5"], "member"),
        (["--measures", "llc"], "leave out --measures"),
        (["--llc-epsilon", "1e-3"], "leave out --measures, --llc-epsilon"),
        (["--llc-draws", "0"], "--llc-draws=0"),
    ],
)
def test_bad_calibration_input_is_one_line_exit_2_and_writes_nothing(
    run_cli, tmp_path, extra, message
):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11", "--keep-checkpoints", "every:2")
    out = tmp_path / "cal"
    args = ["measure", run_id, "--store", str(store), *CALIBRATE, "--out", str(out), *extra]
    status, stdout, err = run_cli(args)
    assert status == 2 and stdout == "" and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_calibration_needs_out_and_a_run_llc_applies_to(run_cli, tmp_path, monkeypatch):
    from dataclasses import replace

    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--p", "11")
    args = ["measure", run_id, "--store", str(store), *CALIBRATE]
    status, _, err = run_cli(args)
    assert status == 2 and err.count("\n") == 1 and "needs --out DIR" in err
    status, _, err = run_cli(["measure", run_id, "--store", str(store), "--out", "x"])
    assert status == 2 and "--out is a flag of --calibrate-llc" in err
    monkeypatch.setitem(MEASURES, "llc", replace(MEASURES["llc"], applies=lambda spec: False))
    status, _, err = run_cli([*args, "--out", str(tmp_path / "cal")])
    assert status == 2 and err.count("\n") == 1 and "'llc' does not apply" in err
    assert not (tmp_path / "cal").exists()


def test_measure_reads_an_s5_run_in_s5s_irreps_and_refuses_that_basis_on_a_mod_p_run(
    run_cli, tmp_path
):
    store = tmp_path / "runs"
    run_id = train(run_cli, store, "--op", "s5_mul", "--seeds", "0", "--train-fraction", "0.3",
                   "--keep-checkpoints", "every:2")  # fmt: skip
    status, out, err = run_cli(["measure", run_id, "--store", str(store), "--measures",
                                "fourier_embed_s5"])  # fmt: skip
    assert status == 0, err
    assert "3 checkpoints, 3 (step, measure) computed" in out
    expected = direct(store, run_id, 0, 4, "fourier_embed_s5")
    assert {"fourier_s5/embed/standard", "fourier_s5/embed/wedge2", "gini_s5/W_E"} <= set(expected)
    with RunStore(store) as s:
        stored = s.read_measures(s.resolve(run_id), list(expected))
    assert list(stored["step"]) == [0, 2, 4]
    for name, value in expected.items():
        assert stored[name][0, -1] == pytest.approx(value, rel=1e-9)
    mod_p = train(run_cli, store)  # add p=7
    with RunStore(store) as s:
        before = s.measure_names(s.resolve(mod_p))
    status, out, err = run_cli(["measure", mod_p, "--store", str(store), "--measures",
                                "fourier_embed_s5"])  # fmt: skip
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "'fourier_embed_s5' does not apply to add p=7" in err
    with RunStore(store) as s:
        assert s.measure_names(s.resolve(mod_p)) == before
