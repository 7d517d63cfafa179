"""The identity service: accounts, phone verification by SMS code, login, roles and
departments. See docs/identity.md."""
