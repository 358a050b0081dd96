"""Reports made from results JSON alone: ``python -m reports RESULTS.json -o OUT.html``."""
