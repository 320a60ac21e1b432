"""``python -m alphalab`` runs the command line."""

from alphalab.cli import app

if __name__ == "__main__":
    app(prog_name="alphalab")
