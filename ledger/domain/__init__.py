"""The domain: the Partner aggregate and its events, the rules of RULES.md as
pure functions, the policy, and one module of decisions per area. It reads no
clock, no environment and no database."""
