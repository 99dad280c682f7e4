"""A machine without an engine, buildah or mmdebstrap: `package` fails before building anything,
naming every missing tool and how to get it. A nested, real Pants."""

from __future__ import annotations

import os
import time

from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tiny_tree import write_tiny_tree

TOOLS = ("buildah", "mmdebstrap")


def path_without(tools: tuple[str, ...], root) -> str:
    """The PATH's directories, with every directory holding one of `tools` replaced by a copy of its
    other entries' links (so the rest of the machine stays usable)."""
    dirs = []
    for i, folder in enumerate(os.environ["PATH"].split(os.pathsep)):
        if not any(os.path.exists(os.path.join(folder, tool)) for tool in tools):
            dirs.append(folder)
            continue
        shadow = root / f"path{i}"
        shadow.mkdir()
        for name in os.listdir(folder):
            if name not in tools:
                os.symlink(os.path.join(folder, name), shadow / name)
        dirs.append(str(shadow))
    return os.pathsep.join(dirs)


def test_missing_tools_are_all_named_before_any_work(tmp_path) -> None:
    repo = ScratchRepo(tmp_path / "repo")
    write_tiny_tree(repo)
    shadow = tmp_path / "bin"
    shadow.mkdir()
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock", "PATH": path_without(TOOLS, shadow)}
    run = repo.pants("package", "images/::", env=env)
    assert run.returncode != 0
    assert "Nothing was built: tools the builds need are missing." in run.stderr, run.stderr[-3000:]
    assert f"No Docker engine answers at unix://{tmp_path}/no-engine.sock" in run.stderr
    assert ".ci/dockerd.sh start" in run.stderr
    assert "apt-get install -y buildah" in run.stderr
    assert "apt-get install -y mmdebstrap" in run.stderr
    # Before any other work: no PEX (a source image's context PEX takes minutes on a fresh machine) and no build.
    assert ".pex" not in run.stderr, run.stderr[-3000:]
    assert run.built == []
    assert "Traceback" not in run.stderr


def test_a_future_source_date_epoch_fails_before_any_work(tmp_path) -> None:
    """mmdebstrap clamps only times newer than the epoch: a future one gives non-reproducible builds."""
    repo = ScratchRepo(tmp_path / "repo")
    write_tiny_tree(repo)
    future = int(time.time()) + 30 * 24 * 3600
    run = repo.pants(f"--kolla-source-date-epoch={future}", "package", "images/::")
    assert run.returncode != 0
    assert (
        f"`[kolla].source_date_epoch` (--kolla-source-date-epoch): {future} is after this machine's clock"
        in run.stderr
    ), run.stderr[-3000:]
    assert ".pex" not in run.stderr and run.built == [] and "Traceback" not in run.stderr, run.stderr[-3000:]
