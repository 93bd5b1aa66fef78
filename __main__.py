"""`python -m detente ...` is the `detente` command line."""

from detente.experiments.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
