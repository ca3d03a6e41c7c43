"""One door, many checks (进一次门、查多项事) across plans: the merge rule and its service."""
