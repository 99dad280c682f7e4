"""The builder's exit codes: the one definition, imported by the rules and shipped to the builder
process as a module of its own (util_rules/builder_process.py), so both sides always agree."""

USAGE = 2  # bad arguments, as argparse's
BUILD_FAILED = 3  # the build itself failed (a `RUN` step...)
ENGINE_UNREACHABLE = 4  # no engine, or it went away mid-command
PUSH_FAILED = 5
TRANSIENT = 6  # the build failed the way a mirror hiccup does: worth running again
