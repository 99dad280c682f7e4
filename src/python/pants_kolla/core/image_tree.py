"""The image tree as pure data: parent resolution and validation, testable without the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from pants.engine.addresses import Address, AddressInput
from pants.util.frozendict import FrozenDict

from pants_kolla.core.dialects import Dialect
from pants_kolla.core.errors import KollaInputError, display, where
from pants_kolla.core.install_types import PER_TYPE, InstallType
from pants_kolla.core.tailor_guess import TAILOR_TODO

ROOTFS = "rootfs"  # the `install_type` slot of a debian_rootfs node: infra-like, no parent


class ImageGraphError(KollaInputError):
    """Bad image tree input; the message names the BUILD file, target and field."""


@dataclass(frozen=True)
class ImageNode:
    address: Address
    install_type: str  # binary, source, infra, or ROOTFS
    parent_spec: str | None
    image_name: str
    dialect: str = Dialect.PANTS_KOLLA.value  # its tag's default depends on it (core/naming.py)

    @property
    def is_rootfs(self) -> bool:
        return self.install_type == ROOTFS

    @property
    def is_per_type(self) -> bool:
        return self.install_type in PER_TYPE


def parent_target_address(node: ImageNode) -> Address:
    """The address the `parent` field names (without the variant a parametrized parent resolves to)."""
    address, spec = node.address, node.parent_spec or ""
    if spec.startswith(TAILOR_TODO):
        raise ImageGraphError(
            f"{where(address, 'parent')}: still `{spec}`, as written by `pants tailor`, which could "
            f"not tell the parent from the template's FROM line. Set it to the parent image's target "
            f"address, e.g. `images/base`."
        )
    try:
        return AddressInput.parse(
            spec, relative_to=address.spec_path, description_of_origin=where(address, "parent")
        ).dir_to_address()
    except Exception as e:
        raise ImageGraphError(f"{where(address, 'parent')}: `{spec}` is not an address: {e}")


@dataclass(frozen=True)
class ImageGraph:
    nodes: Mapping[Address, ImageNode]

    @classmethod
    def from_nodes(cls, nodes: Iterable[ImageNode]) -> "ImageGraph":
        return cls(FrozenDict({n.address: n for n in nodes}))

    def node(self, address: Address) -> ImageNode:
        try:
            return self.nodes[address]
        except KeyError:
            raise ImageGraphError(f"`{address.spec}` is not a kolla_image or debian_rootfs target.")

    def _variants(self, address: Address) -> list[ImageNode]:
        """Every node declared by the BUILD target at `address`, parametrized or not."""
        return [
            n
            for n in self.nodes.values()
            if (n.address.spec_path, n.address.target_name) == (address.spec_path, address.target_name)
            and (n.address == address or not address.parameters)
        ]

    def parent_of(self, address: Address) -> ImageNode | None:
        node = self.node(address)
        if node.is_rootfs:
            return None
        spec = node.parent_spec or ""
        parent_address = parent_target_address(node)
        variants = self._variants(parent_address)
        if not variants:
            raise ImageGraphError(
                f"{where(address, 'parent')}: no kolla_image or debian_rootfs target `{spec}` "
                f"(looked for `{display(parent_address)}`)."
            )
        exact = [v for v in variants if v.address == parent_address]
        if exact:
            parent = exact[0]
        elif node.is_per_type:
            wanted = parent_address.parametrize({"install_type": node.install_type})
            matching = [v for v in variants if v.address == wanted]
            if not matching:
                have = ", ".join(sorted(v.install_type for v in variants))
                raise ImageGraphError(
                    f"{where(address, 'parent')}: parent `{spec}` has no `{node.install_type}` variant "
                    f"(it has: {have})."
                )
            parent = matching[0]
        else:
            have = ", ".join(sorted(v.install_type for v in variants))
            raise ImageGraphError(
                f"{where(address, 'parent')}: an infra image cannot be built FROM `{spec}`, which is "
                f"built per install type ({have}). Infra images must descend from infra images or a "
                f"debian_rootfs only."
            )
        self._check_edge(node, parent)
        return parent

    @staticmethod
    def _check_edge(child: ImageNode, parent: ImageNode) -> None:
        if parent.is_rootfs or parent.install_type == InstallType.INFRA:
            return
        if child.install_type == InstallType.INFRA:
            raise ImageGraphError(
                f"{where(child.address, 'parent')}: infra image `{display(child.address)}` has parent "
                f"`{display(parent.address)}` whose install_type is `{parent.install_type}`. Infra images "
                f"must descend from infra images or a debian_rootfs only."
            )
        if child.install_type != parent.install_type:
            raise ImageGraphError(
                f"{where(child.address, 'parent')}: `{child.install_type}` image "
                f"`{display(child.address)}` has a `{parent.install_type}` parent `{display(parent.address)}`."
            )

    def ancestry(self, address: Address) -> list[ImageNode]:
        """The node and its ancestors, nearest first, ending at a rootfs. Raises on cycles."""
        chain = [self.node(address)]
        seen = {address}
        while True:
            parent = self.parent_of(chain[-1].address)
            if parent is None:
                return chain
            if parent.address in seen:
                cycle = " -> ".join(display(n.address) for n in [*chain, parent])
                raise ImageGraphError(f"{where(address, 'parent')}: parent cycle: {cycle}.")
            seen.add(parent.address)
            chain.append(parent)
