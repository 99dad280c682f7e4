"""The builder runs on the machine's bare `python3` from its modules alone: every module imports with no
site-packages and nothing but the builder package on the path, and an interpreter too old or missing is
one clear error."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pants_kolla.builder import cli
from pants_kolla.util_rules.builder_process import (
    BUILDER_MODULE,
    BUILDER_PACKAGE,
    BUILDER_PYTHON,
    FIXED_PATH,
    BuilderPythonMissing,
    builder_files,
    checked_python_version,
)


def _sandbox_with_the_builder(tmp_path):
    """The package as builder processes get it: `pants_kolla/__init__.py` and the builder's modules."""
    package = tmp_path / BUILDER_PACKAGE.replace(".", "/")
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    source = cli.__file__.rsplit("/", 1)[0]
    for name in builder_files():
        shutil.copy(f"{source}/{name}", package / name)
    return tmp_path


def _bare_python(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*BUILDER_PYTHON, *args], cwd=cwd, env={"PATH": FIXED_PATH}, capture_output=True, text=True
    )


def test_every_builder_module_imports_on_a_bare_python(tmp_path) -> None:
    sandbox = _sandbox_with_the_builder(tmp_path)
    modules = [f"{BUILDER_PACKAGE}.{name[:-3]}" for name in builder_files() if name != "__init__.py"]
    assert len(modules) > 10 and f"{BUILDER_PACKAGE}.engine_http" in modules
    check = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    run = _bare_python(sandbox, "-c", check, *modules)
    assert run.returncode == 0, run.stderr
    help_run = _bare_python(sandbox, "-m", BUILDER_MODULE, "--help")
    assert help_run.returncode == 0 and "pants-kolla-builder" in help_run.stdout, help_run.stderr


def test_the_builder_python_version_is_checked() -> None:
    assert checked_python_version(0, b"3.11\n", "this machine") == "3.11"
    with pytest.raises(
        BuilderPythonMissing, match=r"`python3` 3\.9 or newer .* this machine has Python 3\.7"
    ):
        checked_python_version(0, b"3.7\n", "this machine")
    with pytest.raises(BuilderPythonMissing, match="the remote worker has none: apt-get install -y python3"):
        checked_python_version(127, b"", "the remote worker")
