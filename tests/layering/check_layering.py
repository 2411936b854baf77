#!/usr/bin/env python3
"""Checks that CMakeLists.txt's module dependencies are the #include lines.

Every `regcache_module(<name> PUBLIC ... PRIVATE ...)` call must name, among
its regcache_* libraries,
  PUBLIC   exactly the modules that include/regcache/<name>/ includes
           (whoever includes the module's headers needs those too), and
  PRIVATE  exactly the modules that only src/<name>/ includes.
A module may include only modules it names, and the modules form no cycle.
Since every module shares one include directory, the compiler cannot tell a
wrong include: this check does, naming the file, the include and the module.

Usage: check_layering.py [SOURCE_DIR]   (default: the repository holding this file)
Exits 1 and prints every disagreement, or exits 0 silently.
"""
import pathlib
import re
import sys

MODULE_CALL = re.compile(r"^\s*regcache_module\(\s*(\w+)((?:\s+[^)\s]+)*)\s*\)", re.M)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"regcache/(\w+)/[^"]+"', re.M)
SOURCE_SUFFIXES = {".hpp", ".cpp", ".h", ".ipp"}


def declared_modules(cmake_text):
    """{module: {"PUBLIC": set, "PRIVATE": set}} of the regcache_* libraries each call names."""
    modules = {}
    for match in MODULE_CALL.finditer(cmake_text):
        name, args = match.group(1), match.group(2).split()
        deps = {"PUBLIC": set(), "PRIVATE": set()}
        scope = None
        for arg in args:
            if arg in deps:
                scope = arg
            elif arg.startswith("regcache_"):
                if scope is None:
                    raise ValueError(f"regcache_module({name}): {arg} comes before PUBLIC or PRIVATE")
                deps[scope].add(arg[len("regcache_"):])
        modules[name] = deps
    return modules


def includes_under(root, directory):
    """{included module: [(file, line number)]} for the files under directory."""
    found = {}
    base = root / directory
    if not base.is_dir():
        return found
    for path in sorted(base.rglob("*")):
        if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in INCLUDE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(match.group(1), []).append((path.relative_to(root), line))
    return found


def where(places):
    file, line = places[0]
    more = f" (and {len(places) - 1} more)" if len(places) > 1 else ""
    return f"{file}:{line}{more}"


def find_cycle(graph):
    """One dependency cycle as a list of modules (first == last), or None."""
    done = set()

    def visit(node, path):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for dep in sorted(graph.get(node, ())):
            cycle = visit(dep, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node, [])
        if cycle:
            return cycle
    return None


def problems(root):
    modules = declared_modules((root / "CMakeLists.txt").read_text(encoding="utf-8"))
    found = []
    for module in sorted(modules):
        public, private = modules[module]["PUBLIC"], modules[module]["PRIVATE"]
        by_headers = includes_under(root, f"include/regcache/{module}")
        by_sources = includes_under(root, f"src/{module}")
        by_headers.pop(module, None)
        by_sources.pop(module, None)
        for used, places in sorted({**by_sources, **by_headers}.items()):
            if used not in modules:
                found.append(f"module {module}: {where(places)} includes regcache/{used}/, which is no module")
        for used, places in sorted(by_headers.items()):
            if used in modules and used not in public:
                named = "it names it PRIVATE" if used in private else "it does not name it"
                found.append(f"module {module}: {where(places)} includes regcache/{used}/ in a public header, "
                             f"so regcache_module({module} ...) must name regcache_{used} PUBLIC ({named})")
        for used, places in sorted(by_sources.items()):
            if used in modules and used not in by_headers and used not in private:
                named = ("it names it PUBLIC, but no header of the module includes it" if used in public
                         else "it does not name it")
                found.append(f"module {module}: {where(places)} includes regcache/{used}/, "
                             f"so regcache_module({module} ...) must name regcache_{used} PRIVATE ({named})")
        for named in sorted((public | private) - set(by_headers) - set(by_sources)):
            found.append(f"module {module}: regcache_module({module} ...) names regcache_{named}, "
                         f"but nothing in include/regcache/{module}/ or src/{module}/ includes regcache/{named}/")
        for named in sorted(public & private):
            found.append(f"module {module}: regcache_module({module} ...) names regcache_{named} both PUBLIC and PRIVATE")
    graph = {m: deps["PUBLIC"] | deps["PRIVATE"] for m, deps in modules.items()}
    cycle = find_cycle(graph)
    if cycle:
        found.append("modules depend on each other in a cycle: " + " -> ".join(cycle))
    return found


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2]).resolve()
    found = problems(root)
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} disagreement(s) between CMakeLists.txt and the #include lines", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
