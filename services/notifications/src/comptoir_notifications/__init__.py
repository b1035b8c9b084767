"""Notifications: every booking event reaches the right person once, in their language."""
