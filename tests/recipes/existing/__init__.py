"""Program tests of the `kubernetes` provider (recipes/existing/): a cluster that already exists."""
