"""``python -m squeezelab``: the same as the ``squeezelab`` console script."""

from squeezelab.cli import main

main()
