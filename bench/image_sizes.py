#!/usr/bin/env python3
"""Size report of a packaged image tree, from the docker-archive directories `package` writes.

    ./pants package --kolla-export-archives images/::   # dist/ then holds every layer file
    python3 bench/image_sizes.py [dist/images]

Per image: its size (all its layers) and its own layers' bytes (those its parent lacks). Then the set: the sum of image sizes (what `docker save` of each image
would weigh), the unique layer bytes (what the set really stores: a shared layer counts once), and what
a naive tree would store, where every install type builds its own copy of the infra images (rootfs, base,
cron, rabbitmq...), as Kolla does when base itself carries the install type.

Sizes are uncompressed layer tar bytes. Layers are identified by their diff ID (config `rootfs.diff_ids`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PER_TYPE = re.compile(r"^[a-z0-9]+-(binary|source)-")


def image_layers(image_dir: Path) -> list[tuple[str, int]]:
    manifest = json.loads((image_dir / "manifest.json").read_text())[0]
    config = json.loads((image_dir / manifest["Config"]).read_text())
    diff_ids = config["rootfs"]["diff_ids"]
    missing = [layer for layer in manifest["Layers"] if not (image_dir / layer).is_file()]
    if missing:
        sys.exit(
            f"{image_dir} lacks its layer files: run `./pants package --kolla-export-archives ...` first"
        )
    sizes = [(image_dir / layer).stat().st_size for layer in manifest["Layers"]]
    return list(zip(diff_ids, sizes))


def mib(n: int) -> str:
    return f"{n / 2**20:9.1f} MiB"


def report(dist: Path) -> dict[str, int]:
    images = {
        d.name: image_layers(d / "image")
        for d in sorted(dist.iterdir())
        if (d / "image/manifest.json").exists()
    }
    if not images:
        sys.exit(f"no images under {dist}: run `./pants package images/::` first")
    # A layer's owner is the image with the fewest layers that has it: the one that created it.
    owner: dict[str, str] = {}
    for name, layers in sorted(images.items(), key=lambda kv: len(kv[1])):
        for diff_id, _ in layers:
            owner.setdefault(diff_id, name)
    unique = {diff_id: size for layers in images.values() for diff_id, size in layers}
    types = sorted({m.group(1) for name in images if (m := PER_TYPE.match(name))}) or ["binary"]

    print(f"{'image':42} {'size':>13} {'own layers':>13}")
    for name, layers in images.items():
        own = sum(size for diff_id, size in layers if owner[diff_id] == name)
        print(f"{name:42} {mib(sum(s for _, s in layers))} {mib(own)}")

    infra_bytes = sum(size for diff_id, size in unique.items() if not PER_TYPE.match(owner[diff_id]))
    totals = {
        "images": len(images),
        "set_bytes": sum(size for layers in images.values() for _, size in layers),
        "unique_bytes": sum(unique.values()),
        "infra_unique_bytes": infra_bytes,
        # Naive: each install type stores its own copy of every infra layer.
        "naive_bytes": sum(unique.values()) + infra_bytes * (len(types) - 1),
    }
    print()
    print(f"images:                               {totals['images']}")
    print(f"set (sum of image sizes):           {mib(totals['set_bytes'])}  ({totals['set_bytes']} B)")
    print(f"unique layer bytes:                 {mib(totals['unique_bytes'])}  ({totals['unique_bytes']} B)")
    print(f"  of which infra (built once):      {mib(infra_bytes)}")
    print(
        f"naive set (infra once per type x{len(types)}): {mib(totals['naive_bytes'])}  ({totals['naive_bytes']} B)"
    )
    return totals


if __name__ == "__main__":
    report(Path(sys.argv[1] if len(sys.argv) > 1 else "dist/images"))
