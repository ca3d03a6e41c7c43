"""Who is acting and what they may do: the actor, the permission table (pure) and bureau scope."""
