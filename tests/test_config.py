"""Experiment YAMLs: composition, overrides, runs x grid, validation errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphemo.cli import main
from graphemo.training.compose import ConfigError, plan_runs
from graphemo.training.sweep import grid_trials, parse_sweep, random_trials, trial_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with configs/ (two groups) and experiments/."""
    (tmp_path / "configs" / "optim").mkdir(parents=True)
    (tmp_path / "configs" / "data").mkdir()
    (tmp_path / "experiments").mkdir()
    (tmp_path / "configs" / "optim" / "sgd.yaml").write_text("name: sgd\nlr: 0.05\nmomentum: 0.8\n")
    (tmp_path / "configs" / "optim" / "bad.yaml").write_text("name: adam\n\nlearning_rate: 0.1\n")
    (tmp_path / "configs" / "data" / "tiny.yaml").write_text("store: somewhere/store\nimage: {size: 32}\n")
    return tmp_path


def write(project: Path, text: str, name: str = "exp.yaml") -> Path:
    path = project / "experiments" / name
    path.write_text(text)
    return path


def test_defaults_compose_into_sections_and_the_file_overrides_them(project):
    path = write(project, "name: e\ndefaults: [optim/sgd, data/tiny]\noptim: {lr: 0.2}\nmodel: {name: mlp}\n")
    (run,), _ = plan_runs(path)
    config = run.config
    assert config.optim.name == "sgd" and config.optim.momentum == 0.8  # from the group file
    assert config.optim.lr == 0.2  # the experiment wins
    assert config.data.store == "somewhere/store" and config.data.image.size == 32
    assert config.train.epochs == 10  # untouched default


def test_set_overrides_win_and_parse_values_as_yaml(project):
    path = write(project, "name: e\nmodel: {name: stgcn, channels: [8, 16]}\n")
    (run,), _ = plan_runs(path, ["optim.lr=3e-4", "train.batch_size=8", "model.channels=[4, 8]"])
    assert run.config.optim.lr == pytest.approx(3e-4)  # "3e-4" is a string to YAML 1.1: coerced for a float field
    assert run.config.train.batch_size == 8
    assert run.config.model.options == {"channels": [4, 8]}


def test_changing_the_model_name_drops_the_previous_models_options(project):
    path = write(project, "name: e\nmodel: {name: stgcn, channels: [8, 16]}\n")
    (run,), _ = plan_runs(path, ["model.name=resnet18"])
    assert run.config.model.name == "resnet18" and run.config.model.options == {}


def test_unknown_key_names_file_line_and_suggests_the_close_key(project):
    path = write(project, "name: e\nmodel: {name: mlp}\noptim:\n  name: sgd\n  lrr: 0.1\n")
    with pytest.raises(ConfigError, match=r"exp\.yaml:5: optim\.lrr: unknown key; did you mean 'lr'\?"):
        plan_runs(path)


def test_unknown_key_in_a_group_file_names_that_file(project):
    path = write(project, "name: e\ndefaults: [optim/bad]\nmodel: {name: mlp}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:3: optim\.learning_rate: unknown key"):
        plan_runs(path)


def test_unknown_top_level_key_and_unknown_default(project):
    with pytest.raises(ConfigError, match=r"exp\.yaml:2: trian: unknown key; did you mean 'train'\?"):
        plan_runs(write(project, "name: e\ntrian: {epochs: 2}\n"))
    with pytest.raises(ConfigError, match=r"no config 'optim/sdg'.*did you mean 'optim/sgd'"):
        plan_runs(write(project, "name: e\ndefaults: [optim/sdg]\n"))


def test_wrong_types_and_ranges_are_refused(project):
    cases = {
        "train: {epochs: ten}": r"train\.epochs: expected an integer, got 'ten'",
        "train: {epochs: 2.5}": r"train\.epochs: expected an integer",
        "optim: {lr: -1}": r"optim\.lr: -1 is outside \[0.0, 10.0\]",
        "optim: {name: sgdd}": r"optim\.name: 'sgdd' is not one of sgd, adam, adamw, adamax; did you mean 'sgd'\?",
        "task: emotions": r"task: 'emotions' is not one of expr, va, both",
        "data: {augment: {mirror: yes please}}": r"data\.augment\.mirror: expected a number",
        "train: {compile: 1}": r"train\.compile: expected true or false",
        "train: {device: tpu}": r"train: device must be 'auto', 'cpu' or 'cuda\[:N\]'",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            plan_runs(write(project, f"name: e\nmodel: {{name: mlp}}\n{text}\n"))


def test_model_name_and_options_are_checked_against_the_registry(project):
    with pytest.raises(ConfigError, match=r"model\.name: unknown model 'stgn'; did you mean 'stgcn'\?"):
        plan_runs(write(project, "name: e\nmodel: {name: stgn}\n"))
    with pytest.raises(ConfigError, match=r"model\.chanels: model 'stgcn' has no option 'chanels'; did you mean"):
        plan_runs(write(project, "name: e\nmodel: {name: stgcn, chanels: [8]}\n"))


def test_runs_times_grid_with_unique_names(project):
    text = (
        "name: e\nmodel: {name: mlp}\n"
        "runs:\n  - {model: {name: mlp}}\n  - {model: {name: stgcn, channels: [8]}}\n  - {model: {name: mlp}}\n"
        "grid:\n  optim.name: [sgd, adam]\n"
    )
    planned, _ = plan_runs(write(project, text))
    names = [p.config.run_name for p in planned]
    assert len(planned) == 6 and len(set(names)) == 6
    assert {p.config.optim.name for p in planned} == {"sgd", "adam"}
    assert {"stgcn optim=sgd", "mlp-1 optim=sgd", "mlp-2 optim=sgd", "mlp-2 optim=adam"} <= set(names)


def test_grid_labels_name_their_keys_and_seeds_group_together(project):
    text = "name: e\nmodel: {name: mlp}\ncv: {folds: 2}\ngrid:\n  optim.lr: [0.1, 0.01]\n  seed: [0, 1]\n"
    planned, _ = plan_runs(write(project, text))
    assert [p.label for p in planned[:4]] == [
        "mlp lr=0.1 seed=0 fold=1",
        "mlp lr=0.1 seed=0 fold=2",
        "mlp lr=0.1 seed=1 fold=1",
        "mlp lr=0.1 seed=1 fold=2",
    ]
    assert {p.group for p in planned} == {"mlp lr=0.1", "mlp lr=0.01"}  # folds and seeds are one result each
    assert {p.config.seed for p in planned if p.group == "mlp lr=0.1"} == {0, 1}


def test_error_inside_a_run_entry_points_at_its_line(project):
    text = "name: e\nmodel: {name: mlp}\nruns:\n  - {model: {name: mlp}}\n  - train:\n      epocs: 3\n"
    with pytest.raises(ConfigError, match=r"exp\.yaml:6: train\.epocs: unknown key; did you mean 'epochs'\?"):
        plan_runs(write(project, text))


def test_bad_yaml_duplicate_keys_and_bad_set_items(project):
    with pytest.raises(ConfigError, match=r"exp\.yaml:3: not valid YAML"):
        plan_runs(write(project, "name: e\noptim: {lr: 0.1\ntrain: x\n"))
    twice = r"exp\.yaml:4: not valid YAML: key 'train' appears twice \(first on line 2\)"
    with pytest.raises(ConfigError, match=twice):
        plan_runs(write(project, "name: e\ntrain: {epochs: 2}\nmodel: {name: mlp}\ntrain: {batch_size: 8}\n"))
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        plan_runs(write(project, "name: e\n"), ["optim.lr"])


def test_dry_run_prints_the_resolved_config(project, capsys):
    path = write(project, "name: e\ndefaults: [optim/sgd]\nmodel: {name: mlp, hidden: [32]}\n")
    assert main(["run", str(path), "--dry-run", "--verbose", "--set", "train.epochs=3"]) == 0
    out = capsys.readouterr().out
    assert "# --- run mlp ---" in out and "epochs: 3" in out and "name: sgd" in out and "hidden: [32]" in out


def test_dry_run_prints_a_compact_plan_of_what_differs(project, capsys):
    text = "name: e\nmodel: {name: mlp}\nruns:\n  - {model: {name: mlp}}\n  - {model: {name: gcn}}\n"
    path = write(project, text)
    assert main(["run", str(path), "--dry-run", "--grid", "optim.lr=0.1,0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("4 run(s); the settings in which they differ")
    assert lines[1].split() == ["mlp", "lr=0.1", "model.name=mlp", "optim.lr=0.1"]
    assert lines[4].split() == ["gcn", "lr=0.01", "model.name=gcn", "optim.lr=0.01"]


def test_only_picks_runs_by_pattern_before_set_renames_them(project):
    text = ("name: e\nmodel: {name: mlp}\ncv: {folds: 2}\nruns:\n  - {model: {name: stgcn, channels: [8]}}\n"
            "  - {model: {name: mlp}}\n  - {model: {name: mlp}}\n")  # fmt: skip
    path = write(project, text)
    planned, _ = plan_runs(path, ["model.name=gat"], only=["stgcn"])
    assert [p.label for p in planned] == ["gat fold=1", "gat fold=2"] and planned[0].config.model.options == {}
    assert [p.label for p in plan_runs(path, only=["mlp"])[0]] == [
        "mlp-1 fold=1", "mlp-1 fold=2", "mlp-2 fold=1", "mlp-2 fold=2"]  # fmt: skip
    assert [p.label for p in plan_runs(path, only=["mlp-2 fold=2", "st*"])[0]] == [
        "stgcn fold=1", "stgcn fold=2", "mlp-2 fold=2"]  # fmt: skip
    with pytest.raises(ConfigError, match="--only 'gin' names no run; runs: stgcn, mlp-1, mlp-2"):
        plan_runs(path, only=["gin"])


def test_set_can_target_runs_and_grid_can_come_from_the_command_line(project):
    text = "name: e\nmodel: {name: mlp}\nruns:\n  - {model: {name: stgcn, channels: [8]}}\n  - {model: {name: mlp}}\n"
    path = write(project, text)
    planned, _ = plan_runs(path, ["stgcn:model.channels=[4, 4]", "train.epochs=2"], grid=["seed=0,1"])
    by_label = {p.label: p.config for p in planned}
    assert set(by_label) == {"stgcn seed=0", "stgcn seed=1", "mlp seed=0", "mlp seed=1"}
    assert by_label["stgcn seed=1"].model.options["channels"] == [4, 4] and by_label["mlp seed=0"].model.options == {}
    assert all(c.train.epochs == 2 for c in by_label.values())
    assert {p.group for p in planned} == {"stgcn", "mlp"}  # seeds are replicates of one result
    with pytest.raises(ConfigError, match="--grid 'seed': expected KEY=V1,V2"):
        plan_runs(path, grid=["seed"])


def test_cli_reports_config_errors_without_a_traceback(project, capsys):
    path = write(project, "name: e\nmodel: {name: mlp}\noptim: {lrr: 1}\n")
    assert main(["run", str(path)]) == 2
    assert "config error" in capsys.readouterr().err


def test_sweep_sections_are_validated_and_sampled_deterministically(project):
    path = write(project, "name: e\nmodel: {name: mlp}\n")
    (base,), _ = plan_runs(path)
    from graphemo.training.compose import Layer

    source = Layer({}, str(path))
    spec = parse_sweep({"method": "random", "trials": 5, "params": {
        "optim.lr": {"low": 1e-4, "high": 1e-2, "log": True}, "train.batch_size": {"low": 16, "high": 64, "step": 16},
        "optim.name": ["sgd", "adam"]}}, source)  # fmt: skip
    trials = random_trials(spec)
    assert trials == random_trials(spec) and len(trials) == 5
    for t in trials:
        assert 1e-4 <= t["optim.lr"] <= 1e-2 and t["train.batch_size"] in (16, 32, 48, 64)
        config = trial_config(base, t, "x")
        assert config.optim.lr == t["optim.lr"] and config.run_name == "x"
    grid = parse_sweep({"method": "grid", "params": {"optim.name": ["sgd", "adam"], "train.epochs": [1, 2, 3]}}, source)
    assert len(grid_trials(grid)) == 6
    with pytest.raises(ConfigError, match="grid search needs choices"):
        parse_sweep({"method": "grid", "params": {"optim.lr": {"low": 0.1, "high": 1}}}, source)
    with pytest.raises(ConfigError, match="unknown key"):
        parse_sweep({"method": "random", "trails": 3, "params": {"optim.name": ["sgd"]}}, source)
    with pytest.raises(ConfigError, match=r"optim\.lrr: unknown key"):
        trial_config(base, {"optim.lrr": 0.1}, "x")


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_experiment_validates(path):
    planned, reserved = plan_runs(path)
    assert planned and all(p.config.name for p in planned)
    if "sweep" in reserved:
        from graphemo.training.compose import Layer

        parse_sweep(reserved["sweep"], Layer({}, str(path)))
