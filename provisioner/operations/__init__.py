"""What the CLI does to a stack: deploy, preview, destroy, refresh, repair, and the refusals and preflight checks before them."""
