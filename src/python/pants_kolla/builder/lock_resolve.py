"""`lock`: resolve an image's package installs with apt itself, in a container of its parent image.

For each install, in the template's order: `apt-get install --print-uris` (what apt would fetch there:
URL, size, sha256), then the install itself, so the next install resolves on top of it, as in the build.
The output is apt's own lines per install plus the suites' Release fields; the rule turns them into the
lock file (core/package_lock.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys

from pants_kolla.builder import exit_codes

INSTALL_MARK = "@@pants-kolla-install"
RELEASE_MARK = "@@pants-kolla-release"
RELEASE_FIELDS = "Origin|Suite|Codename|Version|Date"


def resolve_script(installs: list[list[str]]) -> str:
    lines = ["set -e", "export DEBIAN_FRONTEND=noninteractive", "apt-get --error-on=any update -qq >&2"]
    for index, packages in enumerate(installs):
        names = " ".join(shlex.quote(p) for p in packages)
        lines += [
            f"echo {INSTALL_MARK} {index}",
            # sha256 rather than the first hash apt knows (MD5Sum): the lock's digests are Pants' digests.
            f"apt-get install -y -qq --no-install-recommends --print-uris -o Acquire::ForceHash=SHA256 {names}",
            f"apt-get install -y -qq --no-install-recommends {names} >&2",
        ]
    lines += [
        "for f in /var/lib/apt/lists/*Release; do",
        f"  echo {RELEASE_MARK}; grep -E '^({RELEASE_FIELDS}):' \"$f\" || true",
        "done",
    ]
    return "\n".join(lines) + "\n"


def split_output(output: str, count: int) -> dict:
    """apt's lines per install, and one `Field: value; ...` line per Release file."""
    installs: list[list[str]] = [[] for _ in range(count)]
    releases: list[list[str]] = []
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(INSTALL_MARK):
            current = installs[int(line.split()[1])]
        elif line == RELEASE_MARK:
            releases.append([])
            current = releases[-1]
        elif current is not None:
            current.append(line)
    return {
        "installs": ["\n".join(lines) for lines in installs],
        "release": sorted({"; ".join(fields) for fields in releases if fields}),
    }


# Run by mmdebstrap after it installed the rootfs ($1: the chroot): what apt would fetch to install every
# installed package again is exactly the rootfs's .debs, once apt's archive cache is empty (mmdebstrap's
# second stage, apt and what it needs, leaves its .debs there until its own clean-up, and apt prints no
# URI for a .deb it has).
ROOTFS_HOOK = f"""set -e
echo {INSTALL_MARK} 0
chroot "$1" apt-get clean
packages=$(chroot "$1" dpkg-query -W -f='${{Package}} ')
chroot "$1" apt-get -qq --print-uris --reinstall -o Acquire::ForceHash=SHA256 install $packages
for f in "$1"/var/lib/apt/lists/*Release; do
  echo {RELEASE_MARK}; grep -E '^({RELEASE_FIELDS}):' "$f" || true
done
"""


def cmd_rootfs_lock(args: argparse.Namespace) -> int:
    """Resolve a rootfs's .debs: mmdebstrap as the build runs it, packing nothing."""
    hook = os.path.abspath("resolve-hook.sh")
    with open(hook, "w") as f:
        f.write(ROOTFS_HOOK)
    from pants_kolla.builder.root_image_commands import mmdebstrap_prefix

    argv = [*mmdebstrap_prefix(args, "null"), "--quiet"]
    argv += [f'--customize-hook=sh {hook} "$1" >> {os.path.abspath("resolved.txt")}', args.suite, "/dev/null"]
    proc = subprocess.run([*argv, args.mirror], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        print(f"mmdebstrap could not resolve the rootfs:\n{tail}", file=sys.stderr)
        return exit_codes.BUILD_FAILED
    with open("resolved.txt") as f:
        resolved = split_output(f.read(), 1)
    with open(args.out, "w") as f:
        json.dump(resolved, f, indent=1)
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from pants_kolla.builder import engine_build

    with open(args.installs) as f:
        installs = json.load(f)
    client = engine_build.connect()
    parent_id = engine_build.load(client, args.parent, args.parent_base_id)
    status, stdout, stderr = client.run_container(
        parent_id, ["sh", "-c", resolve_script(installs)], network_mode="host"
    )
    if status != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-15:]
        print("apt could not resolve the installs in the parent image:\n" + "\n".join(tail), file=sys.stderr)
        return exit_codes.BUILD_FAILED
    with open(args.out, "w") as f:
        json.dump(split_output(stdout.decode(errors="replace"), len(installs)), f, indent=1)
    return 0
