"""Legal deadlines of cases: views, escalation and automatic finality."""
