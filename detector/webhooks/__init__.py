"""Trunk webhooks: signed CallInitiated and Hangup events, received beside the poller."""
