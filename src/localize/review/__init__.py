"""The review desk: see every line of a market, fix it, re-voice only what changed."""
