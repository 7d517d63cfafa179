"""notify's pure rules: no I/O, no clock, no randomness of their own (all passed in),
so every decision about what to send, when and how often is a plain function test."""
