"""`python -m app`: the `obscale` command."""
from app.cli import main

main()
