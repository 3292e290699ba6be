"""Users of a node, their roles, passwords and API tokens."""
