"""The business domains, one package each; see ARCHITECTURE.md for who owns what."""
