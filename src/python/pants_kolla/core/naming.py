"""Image names, Kolla's scheme: `<namespace>/<prefix><name>:<tag>`.

binary/source images get the prefix `<distro>-<install type>-`; infra images (and rootfs bases) get
`infra_image_prefix` (empty by default), so they carry one name whatever types a run builds. With
`rename_infra_images` off, infra images get `<distro>-infra-` instead, like the other types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pants_kolla.core import field_checks
from pants_kolla.core.dialects import Dialect
from pants_kolla.core.errors import display, where
from pants_kolla.core.image_tree import ImageGraphError, ImageNode


@dataclass(frozen=True)
class NamingScheme:
    namespace: str
    tag: str
    base_distro: str
    infra_image_prefix: str
    rename_infra_images: bool = True
    kolla_tag: str = ""  # the tag of `dialect="kolla"` images when it differs (kolla-build's default shape)

    def tag_of(self, node: ImageNode) -> str:
        return self.kolla_tag if node.dialect == Dialect.KOLLA and self.kolla_tag else self.tag

    def prefix(self, node: ImageNode) -> str:
        if node.is_per_type or (not self.rename_infra_images and not node.is_rootfs):
            return f"{self.base_distro}-{node.install_type}-"
        return self.infra_image_prefix

    def prefixed_name(self, node: ImageNode) -> str:
        """The image's name without namespace or tag: unique per image, variants included."""
        return f"{self.prefix(node)}{node.image_name}"

    def repository(self, node: ImageNode) -> str:
        # No registry here: it is where `publish` pushes, not part of what is built (cache keys).
        return f"{self.namespace}/{self.prefixed_name(node)}"

    def ref(self, node: ImageNode) -> str:
        return f"{self.repository(node)}:{self.tag_of(node)}"

    def dist_dir(self, node: ImageNode) -> str:
        """Where `package` writes an image: one folder per image name, so variants never collide."""
        return f"images/{self.prefixed_name(node)}"

    def check_unique(self, nodes: Iterable[ImageNode]) -> None:
        """Every name is one Docker accepts (the options are part of it), and two targets with one image
        name would overwrite each other in the engine and in dist/."""
        nodes = sorted(nodes, key=lambda n: (n.address.spec_path, n.address.spec))
        for tag in sorted({self.tag_of(node) for node in nodes}):
            problem = field_checks.tag_problem(tag)
            if problem:
                option = (
                    "`[kolla].tag` (--kolla-tag)" if tag == self.tag else 'the tag of dialect="kolla" images'
                )
                raise ImageGraphError(f"{option}: {problem}.")
        owners: dict[str, ImageNode] = {}
        for node in nodes:
            repository = self.repository(node)
            problem = field_checks.repository_problem(repository)
            if problem:
                raise ImageGraphError(
                    f"{where(node.address, 'image_name')}: the image name made with `[kolla].namespace` "
                    f"and the prefix options: {problem}."
                )
            first = owners.setdefault(repository, node)
            if first is not node:
                raise ImageGraphError(
                    f"{where(node.address, 'image_name')}: image name `{repository}` is also produced by "
                    f"target `{display(first.address)}` ({first.address.spec_path}/BUILD). Set a "
                    f"different `image_name` on one of them."
                )
