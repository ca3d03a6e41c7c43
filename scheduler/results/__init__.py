"""From the check to the public record: task lifecycle, results, review, publication, corrections, follow-ups, the public export."""
