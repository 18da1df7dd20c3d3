"""The stacks this machine knows: their records, registering adopted ones, reading stack files, exporting configurations."""
