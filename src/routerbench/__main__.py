"""`python -m routerbench`: the same command line as the `routerbench` script."""

from routerbench.cli import app

if __name__ == "__main__":
    app()
