"""Custody handoff (移交): two-phase offers and answers, the chain of custody and its
proof, and sending a decided case home."""
