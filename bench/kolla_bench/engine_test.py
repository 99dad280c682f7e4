"""The harness's clean-up against a real engine: a second, empty dockerd of the test's own, so that no
other test's unnamed images (a build's, before `package` names it) can be taken for the run's."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from kolla_bench import engine
from pants_kolla_tests.engine_fixture import FreshEngine


def imported(content: str, name: str = "") -> str:
    """A one-file image made with `docker import` (nothing is pulled): its ID."""
    data = content.encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        entry = tarfile.TarInfo("marker")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    argv = ["docker", "import", "-", *([name] if name else [])]
    return (
        subprocess.run(argv, input=archive.getvalue(), capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )


def test_only_the_unnamed_images_made_since_the_listing_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FreshEngine(tmp_path / "engine") as fresh:
        monkeypatch.setenv("DOCKER_HOST", fresh.docker_host)
        nonce = uuid.uuid4().hex
        older_unnamed = imported(f"older {nonce}")
        before = engine.image_ids()
        run_unnamed = [imported(f"run {i} {nonce}") for i in range(2)]
        run_named = imported(f"named {nonce}", "kolla-bench-test:kept")

        removed = engine.remove_unnamed_since(before)

        assert sorted(removed) == sorted(run_unnamed)
        assert engine.image_ids() == {older_unnamed, run_named}
