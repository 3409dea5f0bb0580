"""Discord-facing presentation: formatting, persistent buttons, the outbox sender."""
