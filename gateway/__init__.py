"""The HTTP gateway: the REST JSON API in front of the Pasokh services.

It owns nothing durable. Each request is authenticated (identity's access token),
validated (marshmallow), rate limited, and turned into one or a few nameko RPC calls;
every domain error comes back as one JSON shape in the caller's language. See
``docs/api.md``.
"""
