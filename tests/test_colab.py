"""Colab: every notebook's badge and setup cell follow repository.url in _config.yml.

The unit tests at the end check scripts/colab.py itself on a synthetic repository.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import load_script
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GPU_NOTEBOOKS = ("06_lenet5_1998", "07_modern_lenet5")


colab = load_script("colab")

each_notebook = pytest.mark.parametrize(
    "path",
    NOTEBOOKS or [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks/*.ipynb yet"))],
    ids=lambda p: p.name if p else "none",
)


@pytest.fixture(scope="module")
def repo():
    if not CONFIG.is_file():
        pytest.fail(f"{CONFIG} is missing: it must set repository.url (https://github.com/OWNER/REPO) and branch")
    try:
        return colab.read_repository(CONFIG)
    except colab.ColabError as exc:
        pytest.fail(str(exc))


def _setup_cells(nb):
    return [c for c in nb.cells if "setup" in c.get("metadata", {}).get("tags", [])]


# --------------------------------------------------------------------------- the setup cell, checked


GUARD = ast.dump(ast.parse('importlib.util.find_spec("lenet") is None', mode="eval").body)


def _strings(node):
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def check_setup_source(source: str, pip_target: str) -> None:
    """Assert the conventions of CONTRIBUTING.md on a setup cell's source."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AssertionError(f"the setup cell must be plain Python (no %pip or !pip): {exc}") from None
    pip_calls = []  # (call, guarded)

    def visit(node, guarded):
        if isinstance(node, ast.Call) and any(
            s == "pip" or s.startswith("pip ") or " pip " in f" {s} " for s in _strings(node)
        ):
            pip_calls.append((node, guarded))
            return
        if isinstance(node, ast.If) and ast.dump(node.test) == GUARD:
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    assert pip_calls, "the setup cell does not pip install the lenet package"
    targets = []
    for call, guarded in pip_calls:
        assert guarded, f'pip runs outside `if importlib.util.find_spec("lenet") is None:` (line {call.lineno})'
        strings = _strings(call)
        targets += [s for s in strings if s.startswith("lenet")]
        for s in strings:
            assert "torch" not in s.replace(pip_target, ""), f"the setup cell must never install torch: {s!r}"
    assert targets == [pip_target], f"the setup cell installs {targets}, expected [{pip_target!r}]"
    for line in source.splitlines():  # shell escapes would dodge the checks above
        assert not line.lstrip().startswith(("!", "%")), f"no shell or magic lines in the setup cell: {line!r}"


# --------------------------------------------------------------------------- the book's notebooks


@each_notebook
def test_colab_badge(path, repo):
    nb = nbformat.read(path, as_version=4)
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    assert first is not None and nb.cells[0] is first, "the first cell must be the markdown title with the badge"
    targets = [m.group(2) for m in colab.MD_BADGE_RE.finditer(first.source)]
    targets += [m.group(2) for m in colab.HTML_BADGE_RE.finditer(first.source)]
    expected = (
        f"https://colab.research.google.com/github/{repo.owner}/{repo.repo}/blob/{repo.branch}/notebooks/{path.name}"
    )
    assert targets, "no Colab badge in the first cell; run: python scripts/colab.py"
    assert all(t == expected for t in targets), (
        f"badge points at {targets}, expected {expected}; run: python scripts/colab.py"
    )


@each_notebook
def test_setup_cell(path, repo):
    nb = nbformat.read(path, as_version=4)
    setup = _setup_cells(nb)
    assert len(setup) == 1, f"expected one cell tagged 'setup', found {len(setup)}; run: python scripts/colab.py"
    cell = setup[0]
    assert cell.cell_type == "code"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code is cell, "the setup cell must be the first code cell"
    check_setup_source(cell.source, f"lenet @ git+{repo.url}")
    assert not any(o.get("output_type") == "error" for o in cell.outputs)
    tags = cell.metadata.get("tags", [])
    assert colab.HIDE_TAG in tags and not set(tags) & set(colab.OLD_HIDE_TAGS), (
        f"the setup cell is tagged {tags}: tag it '{colab.HIDE_TAG}' (the HTML book leaves it out); "
        "run: python scripts/colab.py"
    )


def test_colab_script_replaces_the_old_setup_tag(tmp_path, capsys):
    """A setup cell tagged 'hide-input' (the book's earlier convention) gets 'remove-cell' instead."""
    a, _ = _synthetic_repo(tmp_path)
    path = tmp_path / "notebooks" / "01_first.ipynb"
    a.cells[1].metadata["tags"] = ["setup", "hide-input"]
    nbformat.write(a, path)
    assert colab.main(["--root", str(tmp_path)]) == 0
    assert "tagged hide-input instead" in capsys.readouterr().out
    assert nbformat.read(path, as_version=4).cells[1].metadata["tags"] == ["setup", "remove-cell"]


def test_setup_cells_are_idempotent(tmp_path):
    """Run each setup cell twice where lenet is importable: it must do nothing and print nothing."""
    sources = {}
    for path in NOTEBOOKS:
        cells = _setup_cells(nbformat.read(path, as_version=4))
        if cells:
            sources[path.name] = cells[0].source
    if not sources:
        pytest.skip("no notebook with a setup cell yet")
    _run_setup_twice(sources, tmp_path)


def _run_setup_twice(sources, tmp_path):
    (tmp_path / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
    script = textwrap.dedent("""
        import json, os, subprocess, sys
        def refuse(*args, **kwargs):
            raise AssertionError(f"the setup cell ran a command although lenet is importable: {args!r}")
        for name in ("run", "call", "check_call", "check_output", "Popen"):
            setattr(subprocess, name, refuse)
        os.system = refuse
        for name, source in json.load(open(sys.argv[1], encoding="utf-8")).items():
            for _ in range(2):
                exec(compile(source, f"<setup cell of {name}>", "exec"), {"__name__": "__main__"})
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "sources.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "", f"the setup cell printed {proc.stdout!r}; it must print nothing when lenet is importable"


def test_config_colab_and_single_repository_url():
    if not CONFIG.is_file():
        pytest.fail(f"{CONFIG} is missing")
    import yaml

    text = CONFIG.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert (config.get("launch_buttons") or {}).get("colab_url") == "https://colab.research.google.com"
    url = (config.get("repository") or {}).get("url")
    owner, name = colab.parse_github_url(url)
    # the URL is set in one place: no second copy anywhere else in the config
    assert text.count(url) == 1, f"{url} appears {text.count(url)} times in _config.yml"
    assert text.lower().count(f"github.com/{owner}/{name}".lower()) == 1


@pytest.mark.parametrize("stem", GPU_NOTEBOOKS)
def test_training_notebooks_ask_colab_for_a_gpu(stem):
    path = ROOT / "notebooks" / f"{stem}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.name} not written yet")
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("accelerator") == "GPU", f"run: python scripts/colab.py --gpu {stem}"


# --------------------------------------------------------------------------- scripts/colab.py itself


CONFIG_TEXT = """\
title: A test book
repository:
  url: https://github.com/acme/lenet-book
  branch: main
launch_buttons:
  colab_url: https://colab.research.google.com
"""
WRONG_SETUP = colab.SETUP_TEMPLATE.format(target="lenet @ git+https://github.com/OWNER/REPO")


def _synthetic_repo(root: Path):
    (root / "notebooks").mkdir(parents=True)
    (root / "_config.yml").write_text(CONFIG_TEXT, encoding="utf-8")
    a = new_notebook()
    a.cells = [
        new_markdown_cell(
            "# 1. First\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            "(https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/01_first.ipynb)\n\nProse é."
        ),
        new_code_cell(WRONG_SETUP, metadata={"tags": ["setup"]}, execution_count=1),
        new_code_cell("print('hi')", execution_count=2, outputs=[new_output("stream", name="stdout", text="hi\n")]),
    ]
    b = new_notebook()
    b.metadata["colab"] = {"provenance": []}
    b.cells = [new_markdown_cell("# 2. Second\nProse."), new_code_cell("x = 1", execution_count=7)]
    nbformat.write(a, root / "notebooks" / "01_first.ipynb")
    nbformat.write(b, root / "notebooks" / "02_second.ipynb")
    return a, b


def test_colab_script_rewrites_and_checks(tmp_path, capsys):
    a, b = _synthetic_repo(tmp_path)
    files = sorted((tmp_path / "notebooks").glob("*.ipynb"))
    before = {p: p.read_bytes() for p in files}

    assert colab.main(["--check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "notebooks/01_first.ipynb: out of sync" in out and "notebooks/02_second.ipynb: out of sync" in out, out
    assert {p: p.read_bytes() for p in files} == before, "--check must not write"

    assert colab.main(["--root", str(tmp_path)]) == 0
    capsys.readouterr()
    assert colab.main(["--check", "--root", str(tmp_path)]) == 0

    new_a = nbformat.read(files[0], as_version=4)
    url = "https://colab.research.google.com/github/acme/lenet-book/blob/main/notebooks/01_first.ipynb"
    assert new_a.cells[0].source == (
        f"# 1. First\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})\n\nProse é."
    )
    assert new_a.cells[1].source == colab.SETUP_TEMPLATE.format(target="lenet @ git+https://github.com/acme/lenet-book")
    assert [c.id for c in new_a.cells] == [c.id for c in a.cells]
    assert new_a.cells[1].execution_count == 1 and new_a.cells[2].outputs == a.cells[2].outputs
    text = files[0].read_text(encoding="utf-8")
    assert text == nbformat.writes(new_a) + "\n" and "Prose é" in text  # Jupyter's format, UTF-8 as is

    new_b = nbformat.read(files[1], as_version=4)
    url_b = "https://colab.research.google.com/github/acme/lenet-book/blob/main/notebooks/02_second.ipynb"
    assert new_b.cells[0].source == (
        f"# 2. Second\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url_b})\n\nProse."
    )
    assert new_b.cells[1].metadata["tags"] == ["setup", "remove-cell"] and new_b.cells[2].id == b.cells[1].id
    assert new_a.cells[1].metadata["tags"] == ["setup", "remove-cell"]
    check_setup_source(new_b.cells[1].source, "lenet @ git+https://github.com/acme/lenet-book")
    nbformat.validate(new_b)

    # in sync: nothing is written again
    stamps = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    assert colab.main(["--root", str(tmp_path)]) == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == stamps


def test_inserted_setup_cell_is_idempotent(tmp_path):
    source = colab.SETUP_TEMPLATE.format(target="lenet @ git+https://github.com/acme/lenet-book")
    _run_setup_twice({"template": source}, tmp_path)


def test_colab_script_gpu(tmp_path, capsys):
    _synthetic_repo(tmp_path)
    assert colab.main(["--root", str(tmp_path), "--gpu", "02_second.ipynb"]) == 0
    meta = nbformat.read(tmp_path / "notebooks" / "02_second.ipynb", as_version=4).metadata
    assert meta["accelerator"] == "GPU" and meta["colab"] == {"provenance": [], "gpuType": "T4"}
    assert "accelerator" not in nbformat.read(tmp_path / "notebooks" / "01_first.ipynb", as_version=4).metadata
    assert colab.main(["--check", "--root", str(tmp_path)]) == 0  # a GPU notebook stays a GPU notebook
    assert colab.main(["--check", "--root", str(tmp_path), "--gpu", "01_first"]) == 1
    assert colab.main(["--root", str(tmp_path), "--gpu", "09_missing"]) == 2
    assert "09_missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    "config, message",
    [
        (None, "_config.yml not found"),
        ("repository:\n  url: https://gitlab.com/acme/lenet-book\n  branch: main\n", "must be a GitHub repository URL"),
        ("title: no repository\n", "has no repository.url"),
        ("repository:\n  url: https://github.com/acme/lenet-book\n", "has no repository.branch"),
    ],
)
def test_colab_script_config_errors(tmp_path, capsys, config, message):
    _synthetic_repo(tmp_path)
    if config is None:
        (tmp_path / "_config.yml").unlink()
    else:
        (tmp_path / "_config.yml").write_text(config, encoding="utf-8")
    assert colab.main(["--check", "--root", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_check_setup_source_catches_bad_cells():
    target = "lenet @ git+https://github.com/acme/lenet-book"
    check_setup_source(colab.SETUP_TEMPLATE.format(target=target), target)
    bad = [
        # unguarded
        f'import subprocess, sys\nsubprocess.run([sys.executable, "-m", "pip", "install", "{target}"])',
        # installs torch too
        colab.SETUP_TEMPLATE.format(target=target).replace('"-q",', '"-q", "torch",'),
        # wrong repository
        colab.SETUP_TEMPLATE.format(target="lenet @ git+https://github.com/OWNER/REPO"),
        # magic
        "%pip install lenet",
    ]
    for source in bad:
        with pytest.raises(AssertionError):
            check_setup_source(source, target)
