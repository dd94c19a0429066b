"""One module per domain; each defines `router` (a ninja Router) and optionally `PREFIX`."""
