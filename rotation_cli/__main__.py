"""``python -m rotation_cli``: the same CLI as the ``secret-rotation`` console script."""

from rotation_cli.main import app

app(prog_name="secret-rotation")
