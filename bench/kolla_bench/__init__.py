"""The pants-kolla benchmark harness (issue 7). `bench/run.py` orchestrates; each module here is one concern."""
