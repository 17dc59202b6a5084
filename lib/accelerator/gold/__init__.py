"""Gold: per-authority family views with the ten headlines, evidence and a single view of each child."""
