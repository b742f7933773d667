"""`python -m app.cli`: the `obscale` command."""
from app.cli import main

main()
