"""The landing zone: raw inputs written once, atomically, and never rewritten."""
