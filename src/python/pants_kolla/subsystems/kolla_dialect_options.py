"""`[kolla]` options read by `dialect="kolla"` images only: kolla-build 23.0.0's options, its defaults
for `--base debian`. Mixed into KollaSubsystem (one `[kolla]` scope, as kolla-build has one config)."""

from __future__ import annotations

from typing import Any

from pants.option.option_types import BoolOption, DictOption, StrListOption, StrOption
from pants.util.strutil import softwrap

from pants_kolla.kolla_dialect import kolla_context


class KollaDialectOptions:
    base_image = StrOption(
        default="",
        help="`base_image` of kolla-dialect templates (kolla-build's `--base-image`); empty: `debian`, "
        "as kolla-build's default for `--base debian`. A base built or pinned here (`parent` a "
        "`debian_rootfs`) replaces it with that image's name.",
    )
    base_arch = StrOption(
        default="x86_64",
        help="`base_arch` (kolla-build's `--base-arch`; `debian_arch` follows). kolla-build defaults to "
        "the host's; here it is an option, so that the host never enters a cache key.",
    )
    openstack_release_codename = StrOption(
        default=kolla_context.OPENSTACK_RELEASE_CODENAME, help="kolla-build's `--openstack-release-codename`."
    )
    use_dumb_init = BoolOption(default=True, help="kolla-build's `--use-dumb-init`.")
    docker_healthchecks = BoolOption(default=True, help="kolla-build's `--docker-healthchecks`.")
    clean_package_cache = BoolOption(default=True, help="kolla-build's `clean_package_cache`.")
    base_package_type = StrOption(
        default="", help="kolla-build's `base_package_type`; empty: `deb` for debian and ubuntu."
    )
    distro_package_manager = StrOption(
        default="", help="kolla-build's `distro_package_manager`; empty: `apt` for debian and ubuntu."
    )
    patches_path = StrOption(
        default=None, help="kolla-build's `--patches-path`, as templates see it (`patches_path`)."
    )
    repos_yaml = StrOption(
        default="",
        help=softwrap(
            """
            A repos.yaml override file (path from the build root), kolla-build's `--repos-yaml`: its
            sections' repositories replace or add to kolla 23.0.0's repos.yaml, read by `handle_repos`
            and `cleanup_repos`. The file is an input of every render.
            """
        ),
    )
    rpm_setup_config = StrListOption(default=[], help="kolla-build's `rpm_setup_config`.")
    template_env = DictOption[Any](
        default={},
        help=softwrap(
            """
            `env` of kolla-dialect templates (e.g. `{"http_proxy": "http://proxy:3128"}`). kolla-build
            passes the host's environment; here only what this option lists, so that builds do not
            depend on (nor leak) the environment Pants runs in.
            """
        ),
    )
