"""What images cost, pure: per image its total and own bytes (the layers its parent lacks), which other
images share each own layer, the step (Dockerfile line) that made each layer; for a selection the sum of
image sizes (each pulled on its own), the unique bytes (what a registry stores and a fresh host pulls
for all of them), and what per-type copies of the infra images would have added."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pants_kolla.core.image_tree import ROOTFS
from pants_kolla.core.install_types import InstallType

MIB = 1 << 20


@dataclass(frozen=True)
class Layer:
    diff_id: str
    size: int  # uncompressed (the layer tar)
    step: str  # the Dockerfile line that made it (the config's history)
    compressed: int = 0  # the gzip blob's size; 0 when not known


@dataclass(frozen=True)
class ImageSizes:
    ref: str
    name: str  # the repository: the ref without its tag (tags change, budgets hold across them)
    install_type: str
    parent: str  # the parent's name, "" for a root image
    layers: tuple[Layer, ...]
    inherited: int  # how many leading layers are the parent's

    @property
    def total(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def compressed(self) -> int:
        return sum(layer.compressed for layer in self.layers) if all(l.compressed for l in self.layers) else 0


def own_layers(image: ImageSizes) -> tuple[Layer, ...]:
    return image.layers[image.inherited :]


def image_row(image: ImageSizes, images: Iterable[ImageSizes]) -> dict:
    own = own_layers(image)
    holders: dict[str, list[str]] = {layer.diff_id: [] for layer in own}
    for other in images:
        if other.name != image.name:
            for layer in other.layers:
                if layer.diff_id in holders:
                    holders[layer.diff_id].append(other.name)
    return {
        "ref": image.ref,
        "name": image.name,
        "install_type": image.install_type,
        "parent": image.parent,
        "total": image.total,
        "own": sum(layer.size for layer in own),
        "compressed": image.compressed,
        "steps": [
            {
                "step": l.step,
                "size": l.size,
                "compressed": l.compressed,
                "shared_with": sorted(holders[l.diff_id]),
            }
            for l in own
        ],
    }


def infra_per_type_extra(rows: list[dict]) -> int:
    """Bytes the infra images' own layers would add if each install type built its own copies (as
    binary and source each did before the infra type): one more copy per extra type selected."""
    types = {r["install_type"] for r in rows} & {InstallType.BINARY.value, InstallType.SOURCE.value}
    infra = sum(r["own"] for r in rows if r["install_type"] in (InstallType.INFRA.value, ROOTFS))
    return infra * max(0, len(types) - 1)


def size_report(images: list[ImageSizes]) -> dict:
    rows = [image_row(image, images) for image in sorted(images, key=lambda i: i.name)]
    unique = {layer.diff_id: layer.size for image in images for layer in image.layers}
    return {
        "images": rows,
        "sum_of_sizes": sum(r["total"] for r in rows),
        "unique": sum(unique.values()),
        "infra_per_type_extra": infra_per_type_extra(rows),
    }


def mib(size: int) -> str:
    return f"{size / MIB:.1f}"


def table_lines(report: dict) -> list[str]:
    """The terminal table: one line per image, biggest first, then the selection's totals."""
    lines = [f"{'image':48} {'type':7} {'total MiB':>10} {'own MiB':>8} {'gz MiB':>7}  biggest own step"]
    for row in sorted(report["images"], key=lambda r: -r["total"]):
        biggest = max(row["steps"], key=lambda s: s["size"], default=None)
        step = f"{mib(biggest['size'])} MiB {biggest['step'][:60]}" if biggest else ""
        gz = mib(row["compressed"]) if row["compressed"] else "-"
        lines.append(
            f"{row['name']:48} {row['install_type']:7} {mib(row['total']):>10} {mib(row['own']):>8} {gz:>7}  {step}"
        )
    lines.append(
        f"{len(report['images'])} images: {mib(report['sum_of_sizes'])} MiB pulled one by one, "
        f"{mib(report['unique'])} MiB unique (a registry's or a fresh host's share); per-type copies of the "
        f"infra images would add {mib(report['infra_per_type_extra'])} MiB"
    )
    return lines
