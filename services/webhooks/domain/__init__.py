"""Pure rules of webhooks: filters, signatures, payloads, retry and disable policy."""
