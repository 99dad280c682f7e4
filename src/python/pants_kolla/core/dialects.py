"""Template dialects of `kolla_image`: what context, functions and Jinja rules a template is rendered with.

`pants-kolla`: this plugin's (install types, StrictUndefined, chained overrides). `kolla`: kolla-build
23.0.0's, so that Kolla's own docker/ tree renders unchanged (kolla_dialect/)."""

PANTS_KOLLA = "pants-kolla"
KOLLA = "kolla"
ALL = (PANTS_KOLLA, KOLLA)
