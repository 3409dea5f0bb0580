"""Use cases. No discord imports here (except the notification sender in bot/ui)."""
