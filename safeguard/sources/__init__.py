"""Where items come from. Evidence is opened read-only and never modified."""
