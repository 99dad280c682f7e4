"""Image names, Kolla's scheme: `<namespace>/<prefix><name>:<tag>`.

binary/source images get the prefix `<distro>-<install type>-`; infra images (and rootfs bases) get
`infra_image_prefix` (empty by default), so they carry one name whatever types a run builds.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants_kolla.image_graph import ImageNode


@dataclass(frozen=True)
class NamingScheme:
    namespace: str
    tag: str
    base_distro: str
    infra_image_prefix: str
    registry: str = ""

    def prefix(self, node: ImageNode) -> str:
        if node.is_per_type:
            return f"{self.base_distro}-{node.install_type}-"
        return self.infra_image_prefix

    def repository(self, node: ImageNode) -> str:
        repo = f"{self.namespace}/{self.prefix(node)}{node.image_name}"
        return f"{self.registry}/{repo}" if self.registry else repo

    def ref(self, node: ImageNode) -> str:
        return f"{self.repository(node)}:{self.tag}"

    def dist_dir(self, node: ImageNode) -> str:
        """Where `package` writes an image: one folder per image name, so variants never collide."""
        return f"images/{self.prefix(node)}{node.image_name}"
