"""`pants help` for every target type and `pants help-all` (what IDE integrations and doc generators
read) work on Python 3.9: field type hints evaluate there, and every field has help text."""

from __future__ import annotations

import json

from pants_kolla_tests.repo_fixture import ScratchRepo
from pants_kolla_tests.tiny_tree import write_tiny_tree

TARGET_TYPES = ("kolla_image", "debian_rootfs", "kolla_template_library")


def test_help_and_help_all_describe_every_target_type_and_option(tmp_path) -> None:
    repo = ScratchRepo(tmp_path / "repo")
    write_tiny_tree(repo)
    for target_type in TARGET_TYPES:
        run = repo.pants("help", target_type)
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"`{target_type}` target" in run.stdout and "Traceback" not in run.stderr
    run = repo.pants("help", "kolla")
    assert run.returncode == 0 and "--kolla-builder" in run.stdout, run.stderr[-3000:]

    run = repo.pants("help-all")
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads(run.stdout)
    for target_type in TARGET_TYPES:
        fields = info["name_to_target_type_info"][target_type]["fields"]
        assert fields and all(f["description"] for f in fields), fields
    scopes = info["scope_to_help_info"]
    # `--kolla-builder` is `[kolla].builder` alone: the builder is no Python tool with a scope of its own.
    assert "kolla" in scopes and "kolla-builder" not in scopes
    assert all(o["help"] for o in scopes["kolla"]["basic"] + scopes["kolla"]["advanced"])
