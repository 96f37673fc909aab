"""The import contract: every import points down the floors of docs/architecture.md.

Entry points (pages, the webhook, the API, admin, commands, signal receivers) → tasks (the queue
boundary) → stage modules (the work) → models and adapters (`models`, the catalogue, `replicate/`,
`accounts.credits`, `lib/`). An import may stay on its floor or go down, never up. Besides:
no app imports the project package `headshots`; adapters (`lib/`, `training/replicate/`,
`training/outputs.py`) import no model of `training`; the emulator is a separate app that the
production code never imports. Every module must stand on a floor: a new one fails here until
it is placed, so the table stays the map of the house.

Lazy imports inside functions and `TYPE_CHECKING` imports count like any other.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGES = (
    "headshots",
    "lib",
    "accounts",
    "training",
    "privacy",
    "payments",
    "replicate_emulator",
    "stripe_emulator",
)
EMULATORS = ("replicate_emulator", "stripe_emulator")

ENTRY, TASKS, STAGES, MODELS = 4, 3, 2, 1
FLOOR_NAMES = {ENTRY: "entry points", TASKS: "tasks", STAGES: "stages", MODELS: "models/adapters"}

# First match wins: module name patterns (fnmatch) and their floor.
FLOORS: list[tuple[str, int]] = [
    ("headshots", ENTRY),
    ("headshots.*", ENTRY),
    ("replicate_emulator", ENTRY),
    ("replicate_emulator.*", ENTRY),
    ("stripe_emulator", ENTRY),
    ("stripe_emulator.*", ENTRY),
    ("*.management.commands.*", ENTRY),
    ("*.management", ENTRY),
    ("*.management.commands", ENTRY),
    ("*.apps", ENTRY),
    ("*.urls", ENTRY),
    ("*.admin", ENTRY),
    ("*.templatetags*", ENTRY),
    ("training.views", ENTRY),
    ("training.gallery_views", ENTRY),
    ("training.api", ENTRY),
    ("training.webhooks", ENTRY),
    ("training.dashboard", ENTRY),
    ("accounts.views", ENTRY),
    ("accounts.admin_login", ENTRY),
    ("accounts.adapters", ENTRY),
    ("accounts.welcome", ENTRY),
    ("privacy.views", ENTRY),
    ("privacy.account_views", ENTRY),
    ("payments.views", ENTRY),
    ("payments.webhooks", ENTRY),
    ("accounts.sign_in", ENTRY),
    ("*.tasks", TASKS),
    ("training.models", MODELS),
    ("training.packages", MODELS),
    ("training.prompts", MODELS),
    ("training.styles", MODELS),
    ("training.followups", MODELS),
    ("training.links", MODELS),
    ("training.outputs", MODELS),
    ("training.replicate", MODELS),
    ("training.replicate.*", MODELS),
    ("accounts.models", MODELS),
    ("accounts.credits", MODELS),
    ("accounts.tokens", MODELS),
    ("accounts.forms", MODELS),
    ("payments", MODELS),
    ("payments.models", MODELS),
    ("payments.packs", MODELS),
    ("payments.stripe_api", MODELS),
    ("lib", MODELS),
    ("lib.*", MODELS),
    ("accounts", MODELS),
    ("training", MODELS),
    ("privacy", MODELS),
    ("privacy.models", MODELS),
    ("privacy.consent", MODELS),
    ("privacy.policy", MODELS),
    ("privacy.retention", STAGES),
    ("privacy.erasure", STAGES),
    ("privacy.export", STAGES),
    ("privacy.notifications", STAGES),
    ("training.photos", STAGES),
    ("training.photos.one_person", STAGES),
    ("training.photos.*", STAGES),
    ("training.orders", STAGES),
    ("training.held_photos", STAGES),
    ("training.lifecycle", STAGES),
    ("training.trainings", STAGES),
    ("training.generation", STAGES),
    ("training.completion", STAGES),
    ("training.likeness", STAGES),
    ("training.likeness_figures", STAGES),
    ("training.topups", STAGES),
    ("training.downloads", STAGES),
    ("training.sync", STAGES),
    ("training.polling", STAGES),
    ("training.notifications", STAGES),
    ("training.metrics", STAGES),
    ("training.quotas", STAGES),
    ("training.cleanup", STAGES),
    ("training.feedback", STAGES),
    ("training.forms", STAGES),
    ("training.openapi", STAGES),
    ("training.local_uploads", STAGES),
    ("training.zip_uploads", STAGES),
    ("training.replicate_setup", STAGES),
    ("training.showcase", STAGES),
    ("training.my_orders", STAGES),
    ("training.estimates", STAGES),
    ("training.order_erasure", STAGES),
    ("payments.checkout", STAGES),
    ("payments.fulfilment", STAGES),
    ("payments.refunds", STAGES),
    ("payments.events", STAGES),
    ("payments.notifications", STAGES),
    ("payments.revenue", STAGES),
]
ADAPTERS = (
    "lib",
    "lib.*",
    "training.replicate",
    "training.replicate.*",
    "training.outputs",
    "payments.stripe_api",
)


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def matches(module: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns)


def floor_of(module: str) -> int | None:
    return next((floor for pattern, floor in FLOORS if fnmatch.fnmatchcase(module, pattern)), None)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of our packages, migrations left out (they are frozen history)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(root, path)] = path
    return found


def imported_modules(tree: ast.AST, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every import of one of our modules; `from a import b` names `a.b`
    when `b` is a module itself."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((node.lineno, submodule if submodule in known else node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def violations(root: Path, sources: dict[str, str] | None = None) -> list[Violation]:
    """Every broken rule in the house at `root`; `sources` replaces or adds modules' text."""
    modules = project_modules(root)
    texts = dict.fromkeys(modules) | dict(sources or {})
    known = set(texts)
    found: list[Violation] = []
    for module, text in texts.items():
        floor = floor_of(module)
        if floor is None:
            found.append(Violation(module, 1, "-", "stands on no floor: add it to FLOORS"))
            continue
        tree = parse(modules[module]) if text is None else ast.parse(text)
        for line, imported in imported_modules(tree, known):
            found += judge(module, floor, line, imported)
    return found


@functools.cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def judge(module: str, floor: int, line: int, imported: str) -> list[Violation]:
    top = imported.split(".")[0]
    if top == "headshots" and module.split(".")[0] != "headshots":
        return [Violation(module, line, imported, "no app imports the project package")]
    if top in EMULATORS and module.split(".")[0] not in EMULATORS:
        return [Violation(module, line, imported, "production code never imports the emulator")]
    if (
        matches(module, ADAPTERS)
        and imported.startswith(("training.", "payments."))
        and not matches(imported, ADAPTERS)
    ):
        return [Violation(module, line, imported, "an adapter imports no model or stage")]
    target = floor_of(imported)
    if target is not None and target > floor:
        why = f"points up, from {FLOOR_NAMES[floor]} to {FLOOR_NAMES[target]}"
        return [Violation(module, line, imported, why)]
    return []


def test_every_import_points_down_the_floors() -> None:
    found = violations(PROJECT_DIR)
    assert not found, "\n".join(str(violation) for violation in found)


def test_every_module_stands_on_a_floor() -> None:
    assert all(floor_of(module) is not None for module in project_modules(PROJECT_DIR))


@pytest.mark.parametrize(
    ("path", "source", "why"),
    [
        ("training/models.py", "from training import tasks\n", "points up"),
        ("training/lifecycle.py", "def f():\n    from training.views import x\n", "points up"),
        ("training/tasks.py", "from training.webhooks import handle\n", "points up"),
        ("accounts/credits.py", "from headshots.settings import X\n", "project package"),
        ("training/replicate/client.py", "from training.models import Order\n", "adapter"),
        ("lib/storage.py", "from training import lifecycle\n", "adapter"),
        ("training/orders.py", "import replicate_emulator.server\n", "emulator"),
        ("payments/checkout.py", "import stripe_emulator.server\n", "emulator"),
        ("payments/stripe_api.py", "from payments.models import Purchase\n", "adapter"),
        ("payments/models.py", "from payments import events\n", "points up"),
        ("training/new_room.py", "\n", "no floor"),
    ],
)
def test_the_contract_refuses_a_wrong_import(path: str, source: str, why: str) -> None:
    """The checker run on the house with one wrong import added to one module: it names it."""
    target = PROJECT_DIR / path
    module = module_name(PROJECT_DIR, target)
    original = target.read_text() if target.exists() else ""
    found = violations(PROJECT_DIR, {module: original + source})
    assert [str(v) for v in found if why in v.why], found
    assert all(v.module == module for v in found)
