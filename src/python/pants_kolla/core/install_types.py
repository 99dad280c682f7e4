"""Install types, Kolla's `install_type` plus `infra`: images that do not depend on binary/source."""

from enum import Enum


class InstallType(str, Enum):
    BINARY = "binary"
    SOURCE = "source"
    INFRA = "infra"

    def __str__(self) -> str:
        # Templates, messages and BUILD files see the value, as users write it.
        return self.value

    @property
    def metatype(self) -> str:
        """Kolla's metatype: what kind of install a binary/source image is (rdo/mixed in Kolla's RPM days)."""
        return {InstallType.BINARY: "debian", InstallType.SOURCE: "source"}[self]


# The types an image is built once per (`parametrize("binary", "source")`); infra images are built once.
PER_TYPE = (InstallType.BINARY, InstallType.SOURCE)
