"""The pants-kolla benchmark harness. `bench/run.py` orchestrates; each module here is one concern."""
