"""Links to the tools around the stack: ZenML (registering its stack) and mlstacks (reading its stack specs)."""
