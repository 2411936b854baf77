"""docs/ARCHITECTURE.md and docs/PROTOCOL.md state facts the code also
states; these tests fail when the two drift apart, naming what to update:

- the dependency arrows of ARCHITECTURE.md ("Dependencies point one way")
  are exactly the modules each regcache_module() call in CMakeLists.txt
  names (and main's are what the regcache executable links);
- the module table has one row per module, and no other;
- the RocksDB schema table lists exactly the index's column families;
- the error table lists exactly the values of every module's `enum class errc`;
- every OCI error code the registry handler can answer appears in
  the error table of docs/PROTOCOL.md.

Needs no regcache binary: it reads files only.

Run:  python3 -m unittest -v test_docs_match_code
"""

import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ARCHITECTURE = "docs/ARCHITECTURE.md"
PROTOCOL = "docs/PROTOCOL.md"


def read(relative):
    with open(os.path.join(ROOT, relative), encoding="utf-8") as f:
        return f.read()


def section(markdown, heading):
    """The text under `heading` (a whole heading line) up to the next heading of the same or a higher level."""
    m = re.search(r"^(#+) " + re.escape(heading) + r"\s*$", markdown, re.M)
    if not m:
        raise AssertionError(f"{ARCHITECTURE} or {PROTOCOL}: no heading {heading!r}")
    level = len(m.group(1))
    rest = markdown[m.end():]
    end = re.search(r"^#{1,%d} " % level, rest, re.M)
    return rest[:end.start()] if end else rest


def table_rows(text):
    """The cells of every Markdown table row in `text`, header and separator rows excluded."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or re.match(r"^\|[\s|:-]+\|$", line):
            continue
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:] if rows else rows


def names_in_backticks(cell):
    return re.findall(r"`([a-z_0-9]+)`", cell)


def cmake_module_dependencies():
    """module → the regcache modules its regcache_module() call names; main → what the executable links."""
    text = read("CMakeLists.txt")
    deps = {}
    for m in re.finditer(r"regcache_module\((\w+)(.*?)\)", text, re.S):
        deps[m.group(1)] = set(re.findall(r"\bregcache_(\w+)", m.group(2)))
    exe = re.search(r"target_link_libraries\(regcache\s+(.*?)\)", text, re.S)
    if exe:
        deps["main"] = set(re.findall(r"\bregcache_(\w+)", exe.group(1)))
    return deps


def documented_dependencies():
    """module → modules, from the arrows `a ──▶ b, c (note)` of the first diagram under the heading."""
    text = section(read(ARCHITECTURE), "Dependencies point one way")
    block = re.search(r"```\n(.*?)```", text, re.S)
    if not block:
        raise AssertionError(f"{ARCHITECTURE}: no diagram under 'Dependencies point one way'")
    deps = {}
    for line in block.group(1).splitlines():
        m = re.match(r"^\s*(\w+)\s*─+▶\s*(.*)$", line)
        if not m:
            continue
        targets = re.sub(r"\([^)]*\)", "", m.group(2))
        deps[m.group(1)] = {t.strip() for t in targets.split(",") if t.strip()}
    return deps


def errc_values():
    """module → the values of its `enum class errc`, from include/regcache/<module>/errc.hpp."""
    out = {}
    include = os.path.join(ROOT, "include", "regcache")
    for module in sorted(os.listdir(include)):
        path = os.path.join(include, module, "errc.hpp")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            m = re.search(r"enum class errc\s*{(.*?)};", f.read(), re.S)
        if m:
            out[module] = set(re.findall(r"^\s*([a-z_][a-z0-9_]*)\s*(?:=\s*\d+\s*)?,?", m.group(1), re.M))
    return out


def modules_on_disk():
    found = set()
    for top in ("src", os.path.join("include", "regcache")):
        base = os.path.join(ROOT, top)
        found |= {d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d))}
    return found


class ArchitectureDocTests(unittest.TestCase):
    def test_dependency_diagram_is_what_the_build_declares(self):
        built, documented = cmake_module_dependencies(), documented_dependencies()
        for module in sorted(set(built) | set(documented)):
            self.assertEqual(
                built.get(module), documented.get(module),
                f"module {module}: CMakeLists.txt names {sorted(built.get(module, []))}, the diagram under "
                f"'Dependencies point one way' in {ARCHITECTURE} says {sorted(documented.get(module, []))}; "
                "make the diagram say what the build declares")

    def test_module_table_has_one_row_per_module(self):
        rows = table_rows(section(read(ARCHITECTURE), "Modules").split("### ")[0])
        documented = {names_in_backticks(r[0])[0] for r in rows if names_in_backticks(r[0])}
        self.assertEqual(modules_on_disk(), documented,
                         f"the module table of {ARCHITECTURE} must have one row per folder of src/ and include/regcache/")

    def test_schema_table_lists_the_column_families(self):
        store = os.path.join(ROOT, "src", "store")
        sources = "".join(read(os.path.join("src", "store", n)) for n in sorted(os.listdir(store)))
        m = re.search(r"family_names\s*{([^}]*)}", sources)
        self.assertIsNotNone(m, "family_names not found in src/store")
        families = set(re.findall(r'"(\w+)"', m.group(1)))
        rows = table_rows(section(read(ARCHITECTURE), "RocksDB schema"))
        documented = {names_in_backticks(r[0])[0] for r in rows if names_in_backticks(r[0])}
        self.assertEqual(families, documented, f"the RocksDB schema table of {ARCHITECTURE} and family_names differ")

    def test_error_table_lists_every_errc_value(self):
        rows = table_rows(section(read(ARCHITECTURE), "Errors"))
        documented = {}
        for r in rows:
            name = names_in_backticks(r[0])
            if len(r) >= 2 and name:
                documented[name[0]] = set(names_in_backticks(r[1]))
        code = errc_values()
        for module in sorted(set(code) | set(documented)):
            in_code, in_doc = code.get(module, set()), documented.get(module, set())
            self.assertEqual(in_code, in_doc,
                             f"errc of module {module}: missing from the table under 'Errors' in {ARCHITECTURE}: "
                             f"{sorted(in_code - in_doc)}; listed there but not in the code: {sorted(in_doc - in_code)}")

    def test_the_parsers_see_what_they_look_for(self):
        self.assertIn("core", documented_dependencies())
        self.assertIn("cache", errc_values())
        self.assertIn("cache", cmake_module_dependencies())


class ProtocolDocTests(unittest.TestCase):
    def test_every_oci_code_the_handler_answers_is_in_the_error_table(self):
        used = set()
        for top, _, files in os.walk(os.path.join(ROOT, "src")):
            if os.path.relpath(top, ROOT).startswith(os.path.join("src", "oci")):
                continue  # where the codes are defined, not answered
            for name in files:
                if name.endswith(".cpp"):
                    with open(os.path.join(top, name), encoding="utf-8") as f:
                        used |= set(re.findall(r"wire_code::(\w+)", f.read()))
        self.assertTrue(used, "no wire_code:: found in src/")
        table = section(read(PROTOCOL), "Errors")
        documented = {c.replace("_", "") for c in re.findall(r"`([A-Z_]+)`", table)}
        missing = sorted(u for u in used if u.replace("_", "").upper() not in documented)
        self.assertEqual([], missing, f"OCI codes the handler answers but the error table of {PROTOCOL} does not list")


if __name__ == "__main__":
    unittest.main()
