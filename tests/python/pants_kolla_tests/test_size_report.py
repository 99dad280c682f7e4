"""kolla-size's pure parts: own bytes, sharing, the selection's totals, budgets and suggestions."""

from __future__ import annotations

import json

import pytest

from pants_kolla.core.size_budget import SizeError, baseline, parse_size, violations
from pants_kolla.core.size_page import page
from pants_kolla.core.size_report import ImageSizes, Layer, size_report, table_lines
from pants_kolla.core.size_suggestions import ImageFiles, ImagePackages, file_suggestions, suggestions

ROOT = (Layer("r", 100, "mmdebstrap"),)
BASE = (*ROOT, Layer("b", 50, "RUN base"))


def image(
    name: str, kind: str, parent: str, own: tuple[Layer, ...], inherited: tuple[Layer, ...]
) -> ImageSizes:
    return ImageSizes(f"{name}:t", name, kind, parent, (*inherited, *own), len(inherited))


IMAGES = [
    image("rootfs", "rootfs", "", ROOT, ()),
    image("base", "infra", "rootfs", (Layer("b", 50, "RUN base"),), ROOT),
    image("cron", "infra", "base", (Layer("c", 7, "RUN cron"),), BASE),
    image("svc-binary", "binary", "base", (Layer("sb", 30, "RUN b1"), Layer("sb2", 3, "RUN b2")), BASE),
    image("svc-source", "source", "base", (Layer("ss", 20, "RUN s"),), BASE),
]


def test_own_bytes_sharing_and_totals() -> None:
    report = size_report(IMAGES)
    rows = {r["name"]: r for r in report["images"]}
    assert rows["cron"]["total"] == 157 and rows["cron"]["own"] == 7
    assert rows["svc-binary"]["own"] == 33
    assert rows["base"]["steps"] == [
        {"step": "RUN base", "size": 50, "compressed": 0, "shared_with": ["cron", "svc-binary", "svc-source"]}
    ]
    assert report["sum_of_sizes"] == 100 + 150 + 157 + 183 + 170
    assert report["unique"] == 100 + 50 + 7 + 33 + 20
    # Both typed types selected: per-type copies of rootfs, base and cron would add one more of each.
    assert report["infra_per_type_extra"] == 100 + 50 + 7
    assert any("svc-binary" in line for line in table_lines(report))


def test_budgets_name_the_image_its_growth_and_the_step() -> None:
    recorded = baseline(size_report(IMAGES))
    grown = [
        *IMAGES[:3],
        image("svc-binary", "binary", "base", (Layer("x", 80, "RUN b1"), Layer("sb2", 3, "RUN b2")), BASE),
        IMAGES[4],
    ]
    found = violations(size_report(grown), recorded, "10%", {})
    assert len(found) == 1 and found[0].startswith("svc-binary grew 0.0 MiB (+27.3%)")
    assert "`RUN b1`" in found[0]
    assert violations(size_report(grown), recorded, "1MiB", {}) == []
    assert violations(size_report(IMAGES), {}, "", {"cron": "100B"}) == [
        "cron is 0.0 MiB, beyond its max_size = 100B"
    ]


def test_sizes_parse_or_say_what_is_wrong() -> None:
    assert parse_size("20MiB") == (20 * 2**20, False) and parse_size("5%", allow_percent=True) == (5, True)
    with pytest.raises(SizeError, match="is not a size"):
        parse_size("5%")
    with pytest.raises(SizeError, match="is not a size"):
        parse_size("lots")


def test_suggestions_weigh_unique_savings_against_individual_growth() -> None:
    packages = [
        ImagePackages("base", "", {"libc": 10}),
        ImagePackages("a", "base", {"libc": 10, "less": 100, "bc": 50, "vim": 7}),
        ImagePackages("b", "base", {"libc": 10, "less": 100, "bc": 50}),
        ImagePackages("c", "base", {"libc": 10}),
    ]
    (found,) = suggestions(packages)
    assert found["parent"] == "base" and found["packages"] == ["bc", "less"]
    assert found["saves"] == 150 and found["adds"] == 150 and found["children_lacking"] == 1


def test_file_suggestions_match_path_and_content() -> None:
    less = ("usr/bin/less", "1" * 64)
    files = [
        ImageFiles("base", "", {}),
        ImageFiles(
            "a", "base", {less: 100, ("etc/a.conf", "2" * 64): 5, ("var/lib/dpkg/status", "3" * 64): 9}
        ),
        ImageFiles("b", "base", {less: 100, ("var/lib/dpkg/status", "4" * 64): 9}),
        ImageFiles("c", "base", {}),
    ]
    (found,) = file_suggestions(files)
    assert found["kind"] == "files" and found["files"] == ["usr/bin/less"]
    assert found["saves"] == 100 and found["adds"] == 100 and found["children_lacking"] == 1
    assert found["text"].startswith("moving 1 files into base saves")


def test_the_page_embeds_the_report_safely() -> None:
    report = size_report(IMAGES)
    report["images"][0]["steps"][0]["step"] = "RUN echo '</script>'"
    text = page(report)
    embedded = text.split('<script type="application/json" id="report">')[1].split("</script>")[0]
    assert json.loads(embedded)["images"][0]["steps"][0]["step"] == "RUN echo '</script>'"
