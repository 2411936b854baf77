"""The layering check on this repository, and on small trees that break it."""
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_layering  # noqa: E402

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


class layering_of_a_tree(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self._dir.name)

    def tearDown(self):
        self._dir.cleanup()

    def tree(self, cmake, files):
        (self.root / "CMakeLists.txt").write_text(cmake)
        for name, text in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return check_layering.problems(self.root)

    BASE = {
        "include/regcache/core/a.hpp": "#pragma once\n",
        "src/core/a.cpp": '#include "regcache/core/a.hpp"\n',
        "include/regcache/oci/b.hpp": '#pragma once\n#include "regcache/core/a.hpp"\n',
        "src/oci/b.cpp": '#include "regcache/oci/b.hpp"\n',
    }

    def test_lists_matching_the_includes_pass(self):
        self.assertEqual(self.tree("regcache_module(core)\nregcache_module(oci PUBLIC regcache_core)\n", self.BASE), [])

    def test_include_of_a_module_not_named_fails_naming_file_and_module(self):
        files = dict(self.BASE)
        files["src/core/a.cpp"] = '#include "regcache/core/a.hpp"\n\n#include "regcache/oci/b.hpp"\n'
        found = self.tree("regcache_module(core)\nregcache_module(oci PUBLIC regcache_core)\n", files)
        self.assertEqual(found, ["module core: src/core/a.cpp:3 includes regcache/oci/, so regcache_module(core ...) "
                                 "must name regcache_oci PRIVATE (it does not name it)"])

    def test_header_include_needs_a_public_dependency(self):
        found = self.tree("regcache_module(core)\nregcache_module(oci PRIVATE regcache_core)\n", self.BASE)
        self.assertEqual(found, [
            "module oci: include/regcache/oci/b.hpp:2 includes regcache/core/ in a public header, so "
            "regcache_module(oci ...) must name regcache_core PUBLIC (it names it PRIVATE)"])

    def test_dependency_nothing_includes_fails(self):
        found = self.tree("regcache_module(core)\nregcache_module(oci PUBLIC regcache_core)\n"
                          "regcache_module(store PUBLIC regcache_core regcache_oci)\n",
                          {**self.BASE, "src/store/c.cpp": '#include "regcache/core/a.hpp"\n'})
        self.assertEqual(found, [
            "module store: src/store/c.cpp:1 includes regcache/core/, so regcache_module(store ...) must name "
            "regcache_core PRIVATE (it names it PUBLIC, but no header of the module includes it)",
            "module store: regcache_module(store ...) names regcache_oci, but nothing in include/regcache/store/ "
            "or src/store/ includes regcache/oci/"])

    def test_cycle_fails(self):
        files = dict(self.BASE)
        files["src/core/a.cpp"] = '#include "regcache/oci/b.hpp"\n'
        found = self.tree("regcache_module(core PRIVATE regcache_oci)\nregcache_module(oci PUBLIC regcache_core)\n",
                          files)
        self.assertEqual(found, ["modules depend on each other in a cycle: core -> oci -> core"])

    def test_include_of_an_unknown_module_fails(self):
        files = dict(self.BASE)
        files["src/oci/b.cpp"] = '#include "regcache/policy/gate.hpp"\n#include "regcache/core/a.hpp"\n'
        found = self.tree("regcache_module(core)\nregcache_module(oci PUBLIC regcache_core)\n", files)
        self.assertEqual(found, ["module oci: src/oci/b.cpp:1 includes regcache/policy/, which is no module"])

    def test_multi_line_calls_and_third_party_libraries_are_read(self):
        cmake = ("regcache_module(core PUBLIC Boost::system\n  spdlog::spdlog)\n"
                 "regcache_module(oci\n  PUBLIC regcache_core\n  PRIVATE yaml-cpp)\n")
        self.assertEqual(self.tree(cmake, self.BASE), [])


class layering_of_this_repository(unittest.TestCase):
    def test_every_module_names_exactly_what_it_includes(self):
        self.assertEqual(check_layering.problems(REPOSITORY), [])

    def test_every_module_directory_is_a_module(self):
        declared = check_layering.declared_modules((REPOSITORY / "CMakeLists.txt").read_text())
        on_disk = {p.name for p in (REPOSITORY / "src").iterdir() if p.is_dir()}
        self.assertEqual(on_disk - set(declared), set(), "src/ directories without a regcache_module() call")


if __name__ == "__main__":
    unittest.main()
