"""``python -m secret_rotation_kit.cli``: the same CLI as the ``secret-rotation`` console script."""

from secret_rotation_kit.cli.main import app

app(prog_name="secret-rotation")
