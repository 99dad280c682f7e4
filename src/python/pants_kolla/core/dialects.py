"""Template dialects of `kolla_image`: what context, functions and Jinja rules a template is rendered with."""

from enum import Enum


class Dialect(str, Enum):
    # This plugin's: install types, StrictUndefined, chained overrides.
    PANTS_KOLLA = "pants-kolla"
    # kolla-build 23.0.0's, so that Kolla's own docker/ tree renders unchanged (kolla_dialect/).
    KOLLA = "kolla"

    def __str__(self) -> str:
        return self.value
