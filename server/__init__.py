"""Runs the programs: `create_app` composes the front door and the staff back office; `cli` is `frontdoor`."""
