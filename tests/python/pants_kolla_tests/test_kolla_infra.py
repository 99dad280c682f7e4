"""A Kolla user's first day, as docs/kolla-tree.md says: Kolla 23.0.0's docker/ folder downloaded into a
repository that already holds this project's images/ tree, `tailor`, `kolla-render`, then Kolla's own
templates built, not only rendered: its base on a Debian trixie `debian_rootfs` (the suite kolla-build
uses), cron, memcached and dnsmasq, with the site override kolla_site/debian-mirror-only.j2 (removes the
steps reaching hosts other than the Debian mirror), then each image smoke-checked in the real engine.
CPU-heavy (a cold trixie base: ~5 min on 2 cores), hence its own target."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pants_kolla_tests.doc_commands import bash_blocks, run_block, user_env, write_pants_launcher
from pants_kolla_tests.offline_toml import offline_pants_toml
from pants_kolla_tests.repo_fixture import SANDBOX, ScratchRepo

PAGE = SANDBOX / "docs/kolla-tree.md"
SITE_OVERRIDE = Path("tests/python/pants_kolla_tests/kolla_site/debian-mirror-only.j2")
IMAGES = ("base", "cron", "memcached", "dnsmasq")
KOLLA_IMAGES = 188  # templates in kolla 23.0.0's docker/
BASE_CHECK = (
    "id -u keystone; id -gn hacluster; test ! -e /usr/local/bin/extrepo && echo no-extrepo; "
    "test -x /usr/local/bin/kolla_start && echo kolla_start; python3 -c 'import yaml; print(1+1)'"
)
ONESHOT = {  # image -> (command, what its output must hold)
    "base": (["sh", "-c", BASE_CHECK], "42425\nhaclient\nno-extrepo\nkolla_start\n2\n"),
    "cron": (
        ["sh", "-c", "command -v cron && command -v logrotate"],
        "/usr/sbin/cron\n/usr/sbin/logrotate\n",
    ),
    "dnsmasq": (["dnsmasq", "--version"], "Dnsmasq version"),
}
MEMCACHED_PROBE = (
    "import socket; s = socket.create_connection(('127.0.0.1', 11211), 5); "
    "s.sendall(b'version\\r\\n'); print(s.recv(64).decode())"
)


def test_kolla_infra_images_build_and_run(scratch_repo: ScratchRepo, docker_client) -> None:
    # The site's settings (pants.toml, the mirror-only override); the tag is in no cache key, and the
    # default epoch lets a machine that built these images before hit its cache.
    scratch_repo.write("site/debian-mirror-only.j2", SITE_OVERRIDE.read_text())
    extra = f'[kolla]\ntag = "{scratch_repo.tag}"\ntemplate_overrides = ["site/debian-mirror-only.j2"]\n'
    pex_cli = os.environ["PANTS_KOLLA_PEX_CLI"]
    scratch_repo.write(
        "pants.toml", offline_pants_toml(pex_cli, ["pants.backend.python", "pants_kolla"], extra)
    )
    scratch_repo.add_images()
    write_pants_launcher(scratch_repo.root)
    blocks = bash_blocks(PAGE)
    assert len(blocks) == 2 and "tailor" in blocks[0] and "package" in blocks[1]
    outputs = []
    for block in blocks:
        done = run_block(block, scratch_repo.root, user_env())
        assert done.returncode == 0, f"{block}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        outputs.append(done.stdout)
    # tailor wrote BUILD files under kolla/ only, and every Kolla image rendered.
    assert "Created kolla/" in outputs[0] and "images/" not in outputs[0], outputs[0][-3000:]
    assert outputs[0].count("Wrote dist/kolla-render/") == KOLLA_IMAGES, outputs[0][-3000:]
    # Built, or Pants' cache hits of an earlier run's builds on this machine: tags are not in cache keys,
    # so on a machine whose Pants store already holds them (an earlier run of this test) nothing builds.
    # (`kolla/base` also selects the trixie debian_rootfs tailor wrote in that folder.)
    expected = sorted(scratch_repo.ref(n) for n in (*IMAGES, "debian-trixie-rootfs"))
    assert scratch_repo.packaged() == expected, outputs[-1][-3000:]
    try:
        for name, (command, expect) in ONESHOT.items():
            out = docker_client.containers.run(scratch_repo.ref(name), command, remove=True).decode()
            assert expect in out, (name, out)
        memcached = docker_client.containers.run(
            scratch_repo.ref("memcached"), ["memcached", "-l", "127.0.0.1"], detach=True
        )
        try:
            assert memcached.attrs["Config"]["User"] == "memcached"
            deadline = time.monotonic() + 120
            while True:
                code, out = memcached.exec_run(["python3", "-c", MEMCACHED_PROBE])
                if code == 0 and out.startswith(b"VERSION 1."):
                    break
                assert time.monotonic() < deadline, out
                memcached.reload()
                assert memcached.status == "running", memcached.logs()
        finally:
            memcached.remove(force=True)
    finally:
        for name in (*IMAGES, "debian-trixie-rootfs"):  # this run's fresh tag: made by this test only
            if docker_client.images.list(name=scratch_repo.ref(name)):
                docker_client.images.remove(scratch_repo.ref(name))
