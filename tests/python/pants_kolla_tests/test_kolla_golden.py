"""Kolla's own tree, golden against kolla-build 23.0.0 itself: its docker/ folder copied into a scratch
repo, BUILD files written by `pants tailor` (no hand edit), `pants kolla-render` compared byte for byte
with `kolla-build --template-only --base debian`, image by image. Alone in its repository, and beside
this repository's images/ tree, which holds images of the same names (base, openstack-base...): each
tree's parents resolve within that tree."""

from __future__ import annotations

import difflib
import os
import shutil

import pytest

from pants_kolla_tests.kolla_oracle import kolla_docker_tree, render_with_kolla_build
from pants_kolla_tests.offline_toml import offline_pants_toml
from pants_kolla_tests.repo_fixture import ScratchRepo

# Images whose Dockerfile differs from kolla-build's, each with why (and the only lines that differ).
EXPECTED_DIFFERENCES = {
    "base": (
        "built FROM the debian_rootfs tailor writes under it (Debian trixie from the Debian mirror, built "
        "here) instead of the `debian:trixie` image kolla-build pulls from Docker Hub",
        ["-FROM debian:trixie", "+FROM kolla/debian-trixie-rootfs:master"],
    ),
}


def _changed_lines(expected: str, actual: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(expected.splitlines(), actual.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("beside_images", [False, True], ids=["alone", "beside-images"])
def test_kolla_tree_renders_as_kolla_build_does(
    scratch_repo: ScratchRepo, tmp_path, beside_images: bool
) -> None:
    oracle = render_with_kolla_build(tmp_path / "oracle")
    expected = {
        os.path.basename(root): os.path.join(root, "Dockerfile")
        for root, _, files in os.walk(oracle)
        if "Dockerfile" in files
    }
    assert len(expected) == 188, sorted(expected)

    shutil.copytree(kolla_docker_tree(), scratch_repo.root / "kolla")
    # kolla-build's defaults: no [kolla] options at all (the scratch repo's own sets a tag).
    backends = ["pants.backend.python", "pants_kolla"] if beside_images else ["pants_kolla"]
    scratch_repo.write("pants.toml", offline_pants_toml(os.environ["PANTS_KOLLA_PEX_CLI"], backends))
    if beside_images:
        scratch_repo.add_images()
    tailor = scratch_repo.pants("tailor", "kolla::")
    assert tailor.returncode == 0, tailor.stderr[-3000:]
    rendered = scratch_repo.pants("kolla-render", "kolla::")
    assert rendered.returncode == 0, rendered.stderr[-3000:]

    same, differences = [], {}
    for name, path in sorted(expected.items()):
        ours = scratch_repo.root / "dist/kolla-render" / name / "Dockerfile"
        want = open(path).read()
        got = ours.read_text() if ours.exists() else "<not rendered>"
        if got == want:
            same.append(name)
        else:
            differences[name] = _changed_lines(want, got)
    print(f"{len(same)} of {len(expected)} Dockerfiles byte-identical to kolla-build 23.0.0's")
    for name, lines in differences.items():
        reason = EXPECTED_DIFFERENCES.get(name, ("UNEXPECTED",))[0]
        print(f"  {name}: {reason}\n    " + "\n    ".join(lines[:20]))
    assert len(same) >= 187
    assert {n: lines for n, lines in differences.items()} == {
        n: lines for n, (_, lines) in EXPECTED_DIFFERENCES.items()
    }
