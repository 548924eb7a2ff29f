"""The `btt-chain` command (click) and its subcommands."""
