"""Developer tool: regenerate the initial migration from the models.

Used only while no release exists (every schema change so far lives in revision 0001).
Once a node has been deployed, schema changes get new revisions instead.
Run: python -m migrations.regen
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from common.migrate import MIGRATIONS_DIR, alembic_config


def main() -> None:
    versions = MIGRATIONS_DIR / "versions"
    versions.mkdir(exist_ok=True)
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.db'}"
        config = alembic_config(url)
        command.revision(config, message="foundation", autogenerate=True, rev_id="0001")
    print("written:", *versions.glob("0001_*.py"))


if __name__ == "__main__":
    main()
