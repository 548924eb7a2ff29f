"""`python -m cli ...` runs the btt-chain command."""

from cli.main import main

main()
