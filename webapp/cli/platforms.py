"""``flask platforms new NAME`` scaffolds a plugin package; ``flask platforms list`` shows them.

The scaffold imports, registers (it is added to ``BUILTIN_PLATFORMS``) and shows its card at
once; its contract tests fail with a TODO message for every part still to implement.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

platforms_cli = AppGroup("platforms", help="Ad platform plugins.")

TEMPLATES = Path(__file__).resolve().parent / "scaffold"
REGISTRY_MARKER = "    # `flask platforms new` adds new plugins above this line."
FILES = {
    "init.py.tmpl": "platforms/{key}/__init__.py",
    "plugin.py.tmpl": "platforms/{key}/plugin.py",
    "client.py.tmpl": "platforms/{key}/client.py",
    "emulator.py.tmpl": "platforms/{key}/emulator/__main__.py",
    "readme.md.tmpl": "platforms/{key}/README.md",
    "test_contract.py.tmpl": "tests/platforms/{key}/test_contract.py",
}


def scaffold(root: Path, key: str, display_name: str, port: int = 5080) -> list[Path]:
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", key):
        raise click.ClickException(
            "NAME must be lowercase letters, digits and _ (e.g. linkedin_ads)"
        )
    if (root / "platforms" / key).exists():
        raise click.ClickException(f"platforms/{key} already exists")
    registry = root / "platforms" / "registry.py"
    source = registry.read_text()
    if REGISTRY_MARKER not in source:
        raise click.ClickException("platforms/registry.py has no scaffold marker; register by hand")
    values = {
        "key": key,
        "Display": display_name,
        "Class": "".join(part.capitalize() for part in key.split("_")),
        "ENV": key.upper(),
        "port": port,
        "clid": key.replace("_", "")[:12] + "clid",
    }
    written = []
    for template, target in FILES.items():
        path = root / target.format(key=key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((TEMPLATES / template).read_text().format(**values))
        written.append(path)
    for package in (root / "platforms" / key / "emulator", root / "tests" / "platforms" / key):
        init = package / "__init__.py"
        if not init.exists():
            init.write_text("")
            written.append(init)
    entry = f'    "platforms.{key}.plugin:{values["Class"]}Platform",\n'
    registry.write_text(source.replace(REGISTRY_MARKER, entry + REGISTRY_MARKER))
    written.append(registry)
    return written


@platforms_cli.command("new")
@click.argument("name")
@click.option("--display-name", help='Shown on its card, e.g. "LinkedIn Ads".')
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project root (default: this checkout).",
)
def new(name: str, display_name: str | None, root: Path | None) -> None:
    """Scaffold platforms/NAME with plugin, client, emulator, README and contract tests."""
    root = root or Path(current_app.root_path).parent
    display = display_name or " ".join(part.capitalize() for part in name.split("_"))
    for path in scaffold(root, name, display):
        click.echo(f"  wrote {path.relative_to(root)}")
    click.echo(f"\nNext: `pytest tests/platforms/{name}` lists what is left to implement.")


@platforms_cli.command("list")
def list_platforms() -> None:
    """Show the registered platform plugins and whether each is configured."""
    for platform in current_app.extensions["platforms"]:
        configured, reason = platform.is_configured()
        state = "configured" if configured else f"not configured: {reason}"
        click.echo(f"{platform.key:<16} {platform.display_name:<20} {state}")
