"""A root image pulled by digest (`debian_rootfs(registry_image=...@sha256:...)`, kolla-build's
`--base-image`) from a real registry (Debian's docker-registry on 127.0.0.1), built upon with the real
engine: pulled once, then served from Pants' store even with the registry gone."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile

from pants_kolla_tests.registry_fixture import LocalRegistry
from pants_kolla_tests.repo_fixture import ScratchRepo


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def tiny_image_archive(path) -> str:
    """A one-layer docker-archive (no shell: the child image only COPYs). Returns the layer's diff ID."""
    layer = _tar({"hello.txt": b"pinned base\n"})
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [], "Layers": ["layer.tar"]}]).encode()
    path.write_bytes(_tar({"layer.tar": layer, "config.json": config, "manifest.json": manifest}))
    return diff_id


def test_base_image_by_digest_is_pulled_once(scratch_repo: ScratchRepo, tmp_path, docker_client) -> None:
    archive = tmp_path / "tiny.tar"
    base_layer = tiny_image_archive(archive)
    with LocalRegistry(tmp_path / "registry") as registry:
        digest_file = tmp_path / "digest"
        subprocess.run(
            [
                "skopeo",
                "--insecure-policy",
                "copy",
                "--dest-tls-verify=false",
                f"--digestfile={digest_file}",
                f"docker-archive:{archive}",
                f"docker://{registry.address}/tiny:1",
            ],
            check=True,
            capture_output=True,
        )
        pinned = f"{registry.address}/tiny:1@{digest_file.read_text().strip()}"
        scratch_repo.write("base/BUILD", f'debian_rootfs(name="tiny", registry_image="{pinned}")\n')
        scratch_repo.write(
            "child/BUILD",
            'files(name="f", sources=["child.txt"])\n'
            'kolla_image(install_type="infra", parent="base:tiny", dependencies=[":f"])\n',
        )
        scratch_repo.write("child/child.txt", "child\n")
        scratch_repo.write("child/Dockerfile.j2", "FROM {{ parent_image }}\nCOPY child.txt /\n")
        first = scratch_repo.pants("package", "child")
        assert first.returncode == 0, first.stderr[-3000:]
        assert first.built == [scratch_repo.ref("child"), scratch_repo.ref("tiny")]
    child = docker_client.images.get(scratch_repo.ref("child"))
    assert child.attrs["RootFS"]["Layers"][0] == base_layer and len(child.attrs["RootFS"]["Layers"]) == 2

    # The registry is gone: a changed child still builds, FROM the pinned base kept in Pants' store.
    scratch_repo.write("child/Dockerfile.j2", "FROM {{ parent_image }}\nCOPY child.txt /again.txt\n")
    second = scratch_repo.pants("package", "child")
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.built == [scratch_repo.ref("child")]
    docker_client.images.remove(scratch_repo.ref("child"))  # its fresh tag: made by this test only
