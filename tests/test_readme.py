"""The README cannot drift: every Python block runs (on a small store), every shell command exists and its flags
parse (graphemo's ``run`` commands are also planned with ``--dry-run``), every ``make`` target exists."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from graphemo.cli import build_parser, main

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"
# Programs the README shows but graphemo does not own (other tools' set-up, OpenPose, the dev tools).
EXTERNAL = {"pip", "createdb", "export", "./build/examples/openpose/openpose.bin", "pytest", "ruff"}


def fenced_blocks(language: str) -> list[tuple[int, str]]:
    """``(line number, body)`` of every fenced block of ``language`` in the README."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if match.group(1) == language:
            found.append((text.count("\n", 0, match.start()) + 2, match.group(2)))
    return found


def shell_commands() -> list[tuple[str, list[str]]]:
    """``(README:line, argv)`` of every command line in the bash blocks (continuations joined, comments dropped)."""
    commands = []
    for first, body in fenced_blocks("bash"):
        for offset, line in enumerate(body.replace("\\\n", " ").splitlines()):
            argv = shlex.split(line, comments=True)
            if argv and not argv[0].startswith("--"):  # "--model X" lines list an option's forms
                commands.append((f"README.md:{first + offset}", argv))
    return commands


def program(argv: list[str]) -> tuple[str, list[str]]:
    """The program a command line runs, without its ``.venv/bin/`` or ``python``/``-m`` prefix, and its arguments."""
    name, args = Path(argv[0]).name if argv[0].startswith(".venv/") else argv[0], argv[1:]
    if name in ("python", "python3"):
        name, args = (args[1], args[2:]) if args[0] == "-m" else (args[0], args[1:])
    return name, args


def tool_parser(script: str):
    spec = importlib.util.spec_from_file_location(Path(script).stem, ROOT / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_parser()


@pytest.mark.parametrize(("where", "argv"), shell_commands(), ids=[w for w, _ in shell_commands()])
def test_every_shell_command_exists_and_its_flags_parse(where, argv, monkeypatch, capsys):
    name, args = program(argv)
    if name in EXTERNAL:
        return
    if name == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M)
        assert set(args) <= set(targets), f"{where}: no make target {sorted(set(args) - set(targets))}"
    elif name == "graphemo":
        try:
            build_parser().parse_args(args)
        except SystemExit:
            pytest.fail(f"{where}: graphemo {shlex.join(args)} does not parse: {capsys.readouterr().err}")
        if args[0] == "run":
            monkeypatch.chdir(ROOT)
            before = sorted(p.name for p in ROOT.iterdir())
            assert main([*args, "--dry-run"]) == 0, f"{where}: {capsys.readouterr()}"
            assert sorted(p.name for p in ROOT.iterdir()) == before, f"{where}: a dry run wrote files"
    elif name.startswith("tools/"):
        try:
            tool_parser(name).parse_args(args)
        except SystemExit:
            pytest.fail(f"{where}: {name} {shlex.join(args)} does not parse: {capsys.readouterr().err}")
    elif name == "mlflow":
        import warnings

        import click

        with warnings.catch_warnings():  # mlflow's CLI module warns about its own type hints on import
            warnings.simplefilter("ignore")
            from mlflow.cli import cli

        try:
            command = cli.get_command(click.Context(cli), args[0])  # "ui" is an alias of "server"
            command.make_context(args[0], args[1:])
        except click.ClickException as exc:
            pytest.fail(f"{where}: mlflow {shlex.join(args)}: {exc.format_message()}")
    else:
        pytest.fail(f"{where}: {argv[0]} is no command of graphemo, its tools, make or mlflow")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, str, str]:
    """A folder laid out as the README assumes (data/synth/store, data/store, mlflow.db), made by a small
    quickstart run of the MLP; that run's MLflow id; what it printed."""
    import contextlib
    import io
    import os

    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("readme")
    small = ["data.synth.videos=6", "data.synth.frames=[60, 80]", "train.epochs=1", "train.max_steps_per_epoch=2",
             "train.progress=false"]  # fmt: skip
    before = Path.cwd()
    os.chdir(root)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            code = main(["run", str(QUICKSTART), "--only", "mlp", *(a for s in small for a in ("--set", s))])
        assert code == 0, printed.getvalue()[-3000:]
    finally:
        os.chdir(before)
    for link in ("data/synth/store", "data/store"):
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        (root / link).symlink_to(root / "data/synth_quick/store")
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("quickstart")
    runs = client.search_runs([experiment.experiment_id], "tags.mlflow.runName = 'mlp'")
    return root, runs[0].info.run_id, printed.getvalue()


@pytest.mark.parametrize(("line", "code"), fenced_blocks("python"), ids=[f"README.md:{n}" for n, _ in
                                                                          fenced_blocks("python")])  # fmt: skip
def test_every_python_block_runs(line, code, small_run, monkeypatch):
    root, run_id, _ = small_run
    monkeypatch.chdir(root)
    exec(compile(code.replace("<run_id>", run_id), f"README.md:{line}", "exec"), {"__name__": "readme"})


def test_the_quickstart_table_is_laid_out_as_the_quickstart_prints_it(small_run):
    """The figures are from one given run (the README says which); the title, columns and runs are the code's."""
    readme = next(body for _, body in fenced_blocks("text") if body.startswith("experiment quickstart:"))
    printed = small_run[2]
    table = printed[printed.index("experiment quickstart: best validation scores") :].splitlines()
    documented = readme.splitlines()
    assert documented[1].split() == table[1].split(), "the README's columns are the ones graphemo prints"
    assert documented[-1].split(";")[0].split()[:4] == table[-1].split()[:4]  # MLflow: experiment 'quickstart', ...
    runs = [line.split()[0] for line in documented[3:-1]]
    from graphemo.training.compose import plan_runs

    assert runs == [p.label for p in plan_runs(QUICKSTART)[0]], "the quickstart's runs, in order"
