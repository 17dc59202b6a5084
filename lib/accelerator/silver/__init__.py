"""Silver: typed, standardised, validated current versions of every partner record."""
