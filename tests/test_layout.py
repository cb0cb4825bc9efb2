"""The package's shape: every stage in its own folder under stages/, and no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "localize"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> networkx.DiGraph:
    """Module -> modules it imports (anywhere in the file, inside functions too), within the package."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = networkx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                # A package and its own submodules import each other by design (registration).
                if target in modules and target != name and not name.startswith(target + ".") \
                        and not target.startswith(name + "."):
                    graph.add_edge(name, target)
    return graph


def test_no_import_circles():
    circles = [sorted(group) for group in networkx.strongly_connected_components(import_graph()) if len(group) > 1]
    assert circles == []


def test_every_stage_of_the_graph_lives_in_its_own_folder():
    from localize.graph import GRAPHS

    folders = {p.name for p in (PACKAGE / "stages").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    for graph in GRAPHS:
        for stage in graph.stages:
            module = stage.run.__module__
            assert module.startswith("localize.stages."), (stage.name, module)
            assert module.split(".")[2] in folders, (stage.name, module)
    assert folders == {"ingest", "separate", "transcribe", "hardsubs", "diarize", "reassign", "translate", "cast",
                       "synthesize", "lipsync", "mix", "naturalness", "subtitles", "export"}
