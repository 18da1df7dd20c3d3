"""`python -m provisioner.cli`: the `recipe` command without the console script."""

from provisioner.cli import main

main()
