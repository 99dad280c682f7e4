"""The rendered Dockerfile's FROM is pointed at the parent's ID before the build (core/parent_pin.py)."""

from __future__ import annotations

import pytest

from pants_kolla.core.parent_pin import NoParentFrom, pin_parent


def test_only_from_lines_naming_the_parent_are_pinned() -> None:
    text = "FROM kolla/base:t AS build\nRUN echo kolla/base:t\nfrom --platform=linux/amd64 kolla/base:t\n"
    assert pin_parent(text, "kolla/base:t", "sha256:abc") == (
        "FROM sha256:abc AS build\nRUN echo kolla/base:t\nfrom --platform=linux/amd64 sha256:abc\n"
    )


def test_a_longer_name_is_not_the_parent() -> None:
    with pytest.raises(NoParentFrom, match="never builds FROM its parent image `kolla/base:t`"):
        pin_parent("FROM kolla/base:t2\n", "kolla/base:t", "sha256:abc")
