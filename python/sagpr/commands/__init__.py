"""Subcommands of the `sagpr` CLI: each module defines register(subparsers)."""
