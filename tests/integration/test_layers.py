"""The layers, checked on the import graph (grimp, import-linter's engine) beside .importlinter's contracts:
the drivers and the journal stand on a small core only, so a scanner or the journal never drags in the
gateway, the use cases or Qt, and can be tested and reused on their own."""

import grimp

CORE = {"pos_app.errors", "pos_app.money", "pos_app.scan", "pos_app.config", "pos_app.vocabulary", "pos_app.i18n",
        "pos_app.settlement.rows"}   # the settlement rows the journal keeps: plain data types, like vocabulary


def _pos_app_upstream(graph, package: str) -> set[str]:
    found: set[str] = set()
    for module in graph.find_children(package) | {package}:
        for sub in graph.find_descendants(module) | {module}:
            found |= {m for m in graph.find_upstream_modules(sub) if m.startswith("pos_app")}
    return found


def test_drivers_and_the_journal_import_only_the_small_core():
    graph = grimp.build_graph("pos_app", "offline_queue", "drivers", "ui")
    for package in ("drivers", "offline_queue"):
        assert _pos_app_upstream(graph, package) <= CORE, package


def test_the_core_itself_stays_small():
    graph = grimp.build_graph("pos_app", "offline_queue", "drivers", "ui")
    for module in CORE:
        assert {m for m in graph.find_upstream_modules(module) if m.startswith(("pos_app", "ui"))} <= CORE, module
