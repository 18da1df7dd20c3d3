"""What the CLI works out offline from a stack's program: the plan under mocks and its cache, the security baseline, costs, the critical path."""
