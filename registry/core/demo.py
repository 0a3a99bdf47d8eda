"""Loads the demo data set, step by step, through the same services site staff use.

Each step is idempotent: re-running the README's run command keeps the data it already has.
"""

from __future__ import annotations

from importlib import import_module

#: Dotted paths of loader functions, in dependency order. Each takes `stdout` and returns nothing.
DEMO_LOADERS: list[str] = [
    "registry.crfs.demo.loader.load_demo_cohort",
    "registry.queries.demo.load_queries_demo",
    "registry.pathology.demo.load_pathology_demo",
]


def load_demo(stdout, *, users_only: bool = False, show_credentials: bool = True) -> None:
    from registry.audit.tracking import audit_context
    from registry.sites.demo import seed_sites_and_users

    with audit_context(command="seed_demo"):
        credentials = seed_sites_and_users()
        for dotted in [] if users_only else DEMO_LOADERS:
            module_name, func_name = dotted.rsplit(".", 1)
            getattr(import_module(module_name), func_name)(stdout)
    if not show_credentials:
        return
    stdout.write("\nDemo users (demo only — change or remove before real use):")
    width = max(len(u) for u, _, _ in credentials)
    for username, password, roles in credentials:
        stdout.write(f"  {username.ljust(width)}  {password.ljust(24)}  {roles}")
