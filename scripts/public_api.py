#!/usr/bin/env python3
"""The public surface of each published crate, as a sorted text listing.

`scripts/public-api.sh` builds rustdoc JSON for the published crates and runs
this on it. A listing is committed (`api/<crate>.txt`) so that any change of
the public surface shows up as a diff in review; `--check` fails on a
difference instead of writing.

Why a renderer of our own: `cargo-public-api` wants a nightly toolchain;
`cargo-semver-checks` answers another question (is this change
semver-compatible with a baseline?) and is not installed here (a long build
from source). A listing makes every change visible, compatible or not, with
nothing but the stable toolchain (rustdoc JSON through RUSTC_BOOTSTRAP=1, in
scripts/public-api.sh) and Python's standard library. The JSON format
changes between toolchains; its version is checked below so that a
toolchain update fails loudly instead of rendering wrongly.

What a listing holds (one line per item, sorted by path, then kind):
- every item reachable from the crate root through public modules and
  `pub use`, at its shortest public path; other public paths of the same
  item are `pub use <path> (= <shortest>)` lines;
- re-exports of other crates' items that rustdoc does not inline, as
  `pub use <path> (= <their public path>)` lines;
- struct fields and enum variants (public ones; a struct with private
  fields says `{ /* private fields */ }`), `#[non_exhaustive]`,
  `#[must_use]` and `#[deprecated]`;
- functions and methods with generics, parameters, return type and where
  clauses; trait items (a provided method ends in `{ .. }`);
- `impl Trait for Type` lines for every trait a public type implements,
  auto traits included (losing `Send` breaks users), with their associated
  types; blanket impls of other crates' traits (`From<T> for T`, `Any`, ...)
  are left out: they follow from the rest;
- the crate's features.
`#[doc(hidden)]` items are skipped (rustdoc strips them): they are not part
of the promised surface.

Types are written with the public path of local and workspace items (not the
private module they are defined in, so moving code between private modules
changes nothing) and the definition path of other crates' items; the standard
library's as `std::<module>::<Name>`, the prelude's bare (`Option`, `Send`).
"""

import argparse
import difflib
import json
import os
import subprocess
import sys

# Rustdoc JSON format versions this renderer was written against. Another
# version may have renamed fields; rendering it silently wrong would make the
# check pass or fail for no reason a reviewer could see.
SUPPORTED_FORMATS = {57}

# Definition paths of the prelude's names: written bare, as code writes them.
PRELUDE = {
    "core::option::Option", "core::option::Option::Some", "core::option::Option::None",
    "core::result::Result", "alloc::string::String", "alloc::vec::Vec", "alloc::boxed::Box",
    "core::marker::Send", "core::marker::Sync", "core::marker::Sized", "core::marker::Unpin",
    "core::marker::Copy", "core::clone::Clone", "core::default::Default",
    "core::cmp::PartialEq", "core::cmp::Eq", "core::cmp::PartialOrd", "core::cmp::Ord",
    "core::ops::function::Fn", "core::ops::function::FnMut", "core::ops::function::FnOnce",
    "core::convert::From", "core::convert::Into", "core::convert::AsRef", "core::convert::AsMut",
    "core::convert::TryFrom", "core::convert::TryInto", "core::ops::drop::Drop",
    "core::iter::traits::iterator::Iterator", "core::iter::traits::collect::IntoIterator",
    "core::iter::traits::collect::Extend", "core::iter::traits::collect::FromIterator",
    "alloc::borrow::ToOwned", "alloc::string::ToString",
}

# Under one path: the item, then its fields and variants, its associated
# items, its methods, then the traits it implements.
RANKS = {"item": 0, "field": 1, "associated": 2, "method": 3, "impl": 4}

# Auto traits a user can name on stable Rust (`Freeze` and `UnsafeUnpin` are
# compiler-internal); `StructuralPartialEq` always comes with a derived
# `PartialEq`, so it would only repeat it.
NOT_LISTED_TRAITS = {"core::marker::Freeze", "core::marker::UnsafeUnpin",
                     "core::marker::StructuralPartialEq"}


def kind_of(item):
    return next(iter(item["inner"]))


def sort_key(path, rank, member, text):
    """By path segment (case-insensitively first: `Verifier` beside
    `verify`), so that a type's members and impls follow it; then by rank,
    member name and text, so that the order never depends on rustdoc's."""
    return (tuple((segment.lower(), segment) for segment in path), RANKS[rank],
            member.lower(), member, text)


class Workspace:
    """Public paths of every published crate's items, so that one crate's
    listing names another's types by their public path."""

    def __init__(self):
        self.public_by_definition = {}

    def learn(self, crate):
        for item_id, path in crate.canonical.items():
            summary = crate.doc["paths"].get(str(item_id))
            if summary and summary["crate_id"] == 0:
                self.public_by_definition[tuple(summary["path"])] = "::".join(path)


class Crate:
    def __init__(self, doc):
        version = doc.get("format_version")
        if version not in SUPPORTED_FORMATS:
            sys.exit(
                f"public_api.py: rustdoc JSON format {version}; this renderer knows "
                f"{sorted(SUPPORTED_FORMATS)}. Check that the listings render the same with "
                "this toolchain, then add the version to SUPPORTED_FORMATS."
            )
        self.doc = doc
        self.index = doc["index"]
        self.root = self.index[str(doc["root"])]
        self.name = self.root["name"]
        self.paths_of = {}  # item id -> every public path it is reachable at
        self.foreign_uses = []  # (path, use id, source as written, is glob)
        self._walked = set()
        self._walk(self.root, (self.name,), frozenset())
        # The shortest path is the one a user would write; ties go to the
        # alphabetically first, so the choice never depends on walk order.
        self.canonical = {
            item_id: min(paths, key=lambda p: (len(p), "::".join(p)))
            for item_id, paths in self.paths_of.items()
        }
        self.workspace = None

    # ---- reachability -------------------------------------------------
    def _walk(self, module, path, ancestors):
        self.paths_of.setdefault(module["id"], []).append(path)
        self._walk_items(module, path, ancestors)

    def _walk_items(self, module, path, ancestors):
        # Globs can bring a module's items to the same path twice (`pub use
        # a::*` in both `b` and its parent); once is enough.
        if (module["id"], path) in self._walked:
            return
        self._walked.add((module["id"], path))
        ancestors = ancestors | {module["id"]}
        for child_id in module["inner"]["module"]["items"]:
            child = self.index.get(str(child_id))
            if child is None or kind_of(child) == "impl":
                continue
            if kind_of(child) == "use":
                self._use(child["inner"]["use"], path, ancestors)
            elif child["visibility"] == "public" and child["name"]:
                self._add(child, path + (child["name"],), ancestors)

    def _use(self, use, path, ancestors):
        target = self.index.get(str(use["id"])) if use["id"] is not None else None
        if target is None:
            # Another crate's item that rustdoc did not inline.
            reexported = path if use["is_glob"] else path + (use["name"],)
            self.foreign_uses.append((reexported, use["id"], use["source"], use["is_glob"]))
        elif use["is_glob"]:
            if kind_of(target) == "module":  # its items, not the module itself
                self._walk_items(target, path, ancestors)
            else:  # `pub use Enum::*`
                for variant_id in target["inner"].get("enum", {}).get("variants", []):
                    variant = self.index[str(variant_id)]
                    self.paths_of.setdefault(variant_id, []).append(path + (variant["name"],))
        else:
            self._add(target, path + (use["name"],), ancestors)

    def _add(self, item, path, ancestors):
        if kind_of(item) == "module":
            self.paths_of.setdefault(item["id"], []).append(path)
            # A module reachable inside itself (`pub use super::*` in a
            # child) is a path of its own, but its items are not walked again.
            if item["id"] not in ancestors:
                self._walk_items(item, path, ancestors)
        else:
            self.paths_of.setdefault(item["id"], []).append(path)

    # ---- names --------------------------------------------------------
    def external_path(self, item_id, fallback):
        summary = self.doc["paths"].get(str(item_id)) if item_id is not None else None
        if summary is None:
            return fallback
        definition = tuple(summary["path"])
        if summary["crate_id"] == 0:
            return "::".join(definition)
        public = self.workspace.public_by_definition.get(definition) if self.workspace else None
        if public:
            return public
        joined = "::".join(definition)
        if joined in PRELUDE:
            return definition[-1]
        if definition[0] in ("core", "alloc", "std") and len(definition) > 3:
            # The standard library re-exports its items one module deep
            # (`core::panic::unwind_safe::UnwindSafe` is `std::panic::UnwindSafe`).
            return f"std::{definition[1]}::{definition[-1]}"
        if definition[0] in ("core", "alloc"):
            return "std::" + "::".join(definition[1:])
        return joined

    def definition(self, item_id):
        summary = self.doc["paths"].get(str(item_id))
        return "::".join(summary["path"]) if summary else None

    def name_of(self, item_id, written):
        if item_id in self.canonical:
            return "::".join(self.canonical[item_id])
        return self.external_path(item_id, written)

    # ---- types --------------------------------------------------------
    def ty(self, t):
        if t is None:
            return "()"
        (kind, v), = t.items()
        if kind == "resolved_path":
            return self.path(v)
        if kind == "generic" or kind == "primitive":
            return v
        if kind == "borrowed_ref":
            lifetime = v["lifetime"] + " " if v["lifetime"] else ""
            return "&" + lifetime + ("mut " if v["is_mutable"] else "") + self.ty(v["type"])
        if kind == "raw_pointer":
            return ("*mut " if v["is_mutable"] else "*const ") + self.ty(v["type"])
        if kind == "tuple":
            inner = ", ".join(self.ty(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if kind == "slice":
            return f"[{self.ty(v)}]"
        if kind == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if kind == "dyn_trait":
            parts = [self.poly_trait(p) for p in v["traits"]]
            if v.get("lifetime"):
                parts.append(v["lifetime"])
            return "dyn " + " + ".join(parts)
        if kind == "impl_trait":
            return "impl " + self.bounds(v)
        if kind == "function_pointer":
            hrtb = self.hrtb(v.get("generic_params"))
            inputs = ", ".join(self.ty(x[1]) for x in v["sig"]["inputs"])
            output = v["sig"]["output"]
            ret = f" -> {self.ty(output)}" if output is not None else ""
            return f"{hrtb}{self.header(v['header'])}fn({inputs}){ret}"
        if kind == "qualified_path":
            self_type = self.ty(v["self_type"])
            args = self.generic_args(v.get("args"))
            if v.get("trait"):
                return f"<{self_type} as {self.path(v['trait'])}>::{v['name']}{args}"
            return f"{self_type}::{v['name']}{args}"
        if kind == "infer":
            return "_"
        if kind == "pat":
            return self.ty(v["type"])
        return f"<{kind}?>"  # a new kind of type: visible in the diff, never a crash

    def path(self, p):
        return self.name_of(p["id"], p["path"]) + self.generic_args(p.get("args"))

    def generic_args(self, args):
        if not args:
            return ""
        (kind, v), = args.items() if isinstance(args, dict) else (("other", args),)
        if kind == "angle_bracketed":
            parts = [self.generic_arg(a) for a in v["args"]]
            parts += [self.constraint(c) for c in v.get("constraints", [])]
            return f"<{', '.join(parts)}>" if parts else ""
        if kind == "parenthesized":
            inputs = ", ".join(self.ty(x) for x in v["inputs"])
            ret = f" -> {self.ty(v['output'])}" if v.get("output") is not None else ""
            return f"({inputs}){ret}"
        return "(..)"  # return type notation

    def generic_arg(self, a):
        if a == "infer":
            return "_"
        (kind, v), = a.items()
        if kind == "lifetime":
            return v
        if kind == "type":
            return self.ty(v)
        if kind == "const":
            return v.get("expr") or "_"
        return "_"

    def constraint(self, c):
        args = self.generic_args(c.get("args"))
        (kind, v), = c["binding"].items()
        if kind == "equality":
            (term_kind, term), = v.items()
            value = self.ty(term) if term_kind == "type" else term.get("expr", "_")
            return f"{c['name']}{args} = {value}"
        return f"{c['name']}{args}: {self.bounds(v)}"

    def bounds(self, bounds):
        return " + ".join(self.bound(b) for b in bounds)

    def bound(self, b):
        (kind, v), = b.items()
        if kind == "trait_bound":
            modifier = {"none": "", "maybe": "?", "maybe_const": "~const "}.get(v["modifier"], "")
            return self.hrtb(v.get("generic_params")) + modifier + self.path(v["trait"])
        if kind == "outlives":
            return v
        if kind == "use":
            names = [next(iter(x.values())) if isinstance(x, dict) else x for x in v]
            return f"use<{', '.join(names)}>"
        return f"<{kind}?>"

    def poly_trait(self, p):
        return self.hrtb(p.get("generic_params")) + self.path(p["trait"])

    def hrtb(self, params):
        if not params:
            return ""
        return f"for<{', '.join(self.generic_param(p) for p in params)}> "

    # ---- generics -----------------------------------------------------
    def generic_param(self, p, defaults=True):
        (kind, v), = p["kind"].items()
        if kind == "lifetime":
            outlives = v.get("outlives") or []
            return p["name"] + (": " + " + ".join(outlives) if outlives else "")
        if kind == "type":
            text = p["name"]
            if v["bounds"]:
                text += ": " + self.bounds(v["bounds"])
            if defaults and v.get("default") is not None:
                text += " = " + self.ty(v["default"])
            return text
        text = f"const {p['name']}: {self.ty(v['type'])}"
        return text + (f" = {v['default']}" if defaults and v.get("default") else "")

    def generics(self, g, defaults=True):
        # `impl Trait` arguments appear as synthetic parameters; the argument
        # itself already says `impl Trait`.
        params = [p for p in g["params"] if not p["kind"].get("type", {}).get("is_synthetic")]
        return f"<{', '.join(self.generic_param(p, defaults) for p in params)}>" if params else ""

    def where_clause(self, *generics_list):
        predicates = []
        for g in generics_list:
            for w in g["where_predicates"]:
                (kind, v), = w.items()
                if kind == "bound_predicate":
                    predicates.append(
                        self.hrtb(v.get("generic_params")) + self.ty(v["type"]) + ": "
                        + self.bounds(v["bounds"]))
                elif kind == "lifetime_predicate":
                    predicates.append(v["lifetime"] + ": " + " + ".join(v["outlives"]))
                elif kind == "eq_predicate":
                    rhs = v["rhs"]
                    rhs = self.ty(rhs["type"]) if "type" in rhs else rhs.get("constant", {}).get("expr", "_")
                    predicates.append(f"{self.ty(v['lhs'])} = {rhs}")
        return " where " + ", ".join(predicates) if predicates else ""

    # ---- items --------------------------------------------------------
    @staticmethod
    def header(h):
        text = ""
        text += "const " if h.get("is_const") else ""
        text += "async " if h.get("is_async") else ""
        text += "unsafe " if h.get("is_unsafe") else ""
        abi = h.get("abi", "Rust")
        if abi != "Rust":
            name = abi if isinstance(abi, str) else next(iter(abi))
            text += f'extern "{name}" '
        return text

    @staticmethod
    def attributes(item):
        text = ""
        for attribute in item["attrs"]:
            if attribute == "non_exhaustive":
                text += "#[non_exhaustive] "
            elif isinstance(attribute, dict) and "must_use" in attribute:
                text += "#[must_use] "
        if item.get("deprecation"):
            text += "#[deprecated] "
        return text

    def function(self, item, path, outer_generics=None, provided=False):
        f = item["inner"]["function"]
        params = []
        for name, t in f["sig"]["inputs"]:
            if name == "self":
                if t == {"generic": "Self"}:
                    params.append("self")
                    continue
                ref = t.get("borrowed_ref")
                if ref and ref["type"] == {"generic": "Self"}:
                    lifetime = ref["lifetime"] + " " if ref["lifetime"] else ""
                    params.append("&" + lifetime + ("mut " if ref["is_mutable"] else "") + "self")
                    continue
            params.append(f"{name}: {self.ty(t)}")
        output = f["sig"]["output"]
        ret = f" -> {self.ty(output)}" if output is not None else ""
        where = self.where_clause(*(g for g in (outer_generics, f["generics"]) if g))
        body = " { .. }" if provided else ""
        return (f"{self.attributes(item)}pub {self.header(f['header'])}fn {path}"
                f"{self.generics(f['generics'])}({', '.join(params)}){ret}{where}{body}")

    def render(self, workspace, features):
        self.workspace = workspace
        lines = []  # (sort key, text)

        def emit(path, rank, text, member=""):
            lines.append((sort_key(path, rank, member, text), text))

        seen_impls = set()
        for item_id, path in self.canonical.items():
            item = self.index[str(item_id)]
            name = "::".join(path)
            kind = kind_of(item)
            v = item["inner"][kind]
            attrs = self.attributes(item)
            if kind == "module":
                emit(path, "item", f"pub mod {name}")
            elif kind in ("struct", "union"):
                self.struct(item, path, emit)
                self.impls(v["impls"], path, seen_impls, emit)
            elif kind == "enum":
                where = self.where_clause(v["generics"])
                emit(path, "item", f"{attrs}pub enum {name}{self.generics(v['generics'])}{where}")
                for variant_id in v["variants"]:
                    variant = self.index[str(variant_id)]
                    emit(path, "field", self.variant(variant, name + "::" + variant["name"]),
                         variant["name"])
                self.impls(v["impls"], path, seen_impls, emit)
            elif kind == "variant":  # reached through `pub use Enum::*`
                emit(path, "item", self.variant(item, name))
            elif kind == "function":
                emit(path, "item", self.function(item, name))
            elif kind == "trait":
                self.trait(item, path, emit)
                self.impls(v["implementations"], path, seen_impls, emit, blanket=True)
            elif kind == "constant":
                emit(path, "item", f"{attrs}pub const {name}: {self.ty(v['type'])}")
            elif kind == "static":
                mutable = "mut " if v.get("is_mutable") else ""
                emit(path, "item", f"{attrs}pub static {mutable}{name}: {self.ty(v['type'])}")
            elif kind == "type_alias":
                where = self.where_clause(v["generics"])
                emit(path, "item",
                     f"{attrs}pub type {name}{self.generics(v['generics'])}{where} = {self.ty(v['type'])}")
            elif kind == "macro":
                emit(path, "item", f"pub macro {name}!")
            elif kind == "proc_macro":
                emit(path, "item", f"pub proc-macro {name} ({v.get('kind')})")
            else:
                emit(path, "item", f"pub {kind} {name}")
        # A module reachable at a second path is one `pub use` line; the items
        # under that second path would only repeat it.
        module_aliases = {other for item_id, paths in self.paths_of.items()
                          if kind_of(self.index[str(item_id)]) == "module"
                          for other in paths if other != self.canonical[item_id]}
        for item_id, paths in self.paths_of.items():
            canonical = self.canonical[item_id]
            for other in paths:
                if other == canonical or any(other[:n] in module_aliases for n in range(1, len(other))):
                    continue
                emit(other, "item", f"pub use {'::'.join(other)} (= {'::'.join(canonical)})")
        for path, use_id, source, is_glob in self.foreign_uses:
            # A glob's path is the module it is in; another re-export's ends in its name.
            if any(path[:n] in module_aliases for n in range(1, len(path) + is_glob)):
                continue
            glob = "::*" if is_glob else ""
            what = self.external_path(use_id, source)
            emit(path, "item", f"pub use {'::'.join(path)}{glob} (= {what}{glob})")
        for feature, default in features:  # first: they come before any path
            emit((), "item", f"feature {feature}" + (" (default)" if default else ""))
        unique = sorted(set(lines))
        return [text for _, text in unique]

    def struct(self, item, path, emit):
        name = "::".join(path)
        kind = kind_of(item)
        v = item["inner"][kind]
        generics = self.generics(v["generics"])
        where = self.where_clause(v["generics"])
        attrs = self.attributes(item)
        shape = v.get("kind", {"plain": {"fields": v.get("fields", []),
                                         "has_stripped_fields": v.get("has_stripped_fields")}})
        if shape == "unit":
            emit(path, "item", f"{attrs}pub {kind} {name}{generics}{where};")
        elif "tuple" in shape:
            fields = ", ".join("pub " + self.ty(self.index[str(f)]["inner"]["struct_field"])
                               if f is not None else "_" for f in shape["tuple"])
            emit(path, "item", f"{attrs}pub {kind} {name}{generics}({fields}){where}")
        else:
            plain = shape["plain"]
            private = " { /* private fields */ }" if plain["has_stripped_fields"] else ""
            emit(path, "item", f"{attrs}pub {kind} {name}{generics}{where}{private}")
            for field_id in plain["fields"]:
                field = self.index[str(field_id)]
                emit(path, "field",
                     f"pub {name}::{field['name']}: {self.ty(field['inner']['struct_field'])}",
                     field["name"])

    def variant(self, variant, name):
        v = variant["inner"]["variant"]
        shape = v["kind"]
        text = f"{self.attributes(variant)}pub {name}"
        if isinstance(shape, dict) and "tuple" in shape:
            text += "(" + ", ".join(self.ty(self.index[str(f)]["inner"]["struct_field"])
                                    if f is not None else "_" for f in shape["tuple"]) + ")"
        elif isinstance(shape, dict) and "struct" in shape:
            fields = [self.index[str(f)] for f in shape["struct"]["fields"]]
            parts = [f"{f['name']}: {self.ty(f['inner']['struct_field'])}" for f in fields]
            if shape["struct"].get("has_stripped_fields"):
                parts.append("/* private fields */")
            text += " { " + ", ".join(parts) + " }"
        if v.get("discriminant"):
            text += f" = {v['discriminant']['expr']}"
        return text

    def trait(self, item, path, emit):
        name = "::".join(path)
        v = item["inner"]["trait"]
        supertraits = ": " + self.bounds(v["bounds"]) if v["bounds"] else ""
        unsafe = "unsafe " if v["is_unsafe"] else ""
        auto = "auto " if v["is_auto"] else ""
        dyn = "" if v.get("is_dyn_compatible", True) else " /* not dyn-compatible */"
        emit(path, "item",
             f"{self.attributes(item)}pub {unsafe}{auto}trait {name}{self.generics(v['generics'])}"
             f"{supertraits}{self.where_clause(v['generics'])}{dyn}")
        for member_id in v["items"]:
            member = self.index[str(member_id)]
            member_name = name + "::" + member["name"]
            kind = kind_of(member)
            m = member["inner"][kind]
            if kind == "function":
                emit(path, "method", self.function(member, member_name, provided=m["has_body"]),
                     member["name"])
            elif kind == "assoc_type":
                bounds = ": " + self.bounds(m["bounds"]) if m["bounds"] else ""
                default = f" = {self.ty(m['type'])}" if m.get("type") is not None else ""
                emit(path, "associated",
                     f"pub type {member_name}{self.generics(m['generics'])}{bounds}"
                     f"{self.where_clause(m['generics'])}{default}", member["name"])
            elif kind == "assoc_const":
                default = " = .." if m.get("value") is not None else ""
                emit(path, "associated", f"pub const {member_name}: {self.ty(m['type'])}{default}",
                     member["name"])

    def impls(self, impl_ids, owner, seen, emit, blanket=False):
        for impl_id in impl_ids:
            impl_item = self.index.get(str(impl_id))
            if impl_item is None or impl_id in seen:
                continue
            impl = impl_item["inner"]["impl"]
            # Blanket impls on a type come from other crates' traits (`From<T>
            # for T`, `Any`): they follow from the rest. A local trait's own
            # blanket impls (`impl<F: Fn(..)> Trait for F`) are its API.
            if impl["blanket_impl"] is not None and not blanket:
                continue
            seen.add(impl_id)
            for_type = self.ty(impl["for"])
            for_id = impl["for"].get("resolved_path", {}).get("id")
            # Listed under the type it is for when that is ours, else under
            # the type or trait whose impl list holds it (`impl From<Ours>
            # for Result<..>`, `impl OurTrait for Arc<T>`).
            anchor = self.canonical.get(for_id, owner)
            if impl["trait"] is None:
                self.inherent(impl, for_type, anchor, emit)
                continue
            if self.definition(impl["trait"]["id"]) in NOT_LISTED_TRAITS:
                continue
            trait = self.path(impl["trait"])
            negative = "!" if impl["is_negative"] else ""
            unsafe = "unsafe " if impl["is_unsafe"] else ""
            associated = []
            for member_id in impl["items"]:
                member = self.index.get(str(member_id))
                if member is None:
                    continue
                kind = kind_of(member)
                if kind == "assoc_type":
                    associated.append(f"type {member['name']} = {self.ty(member['inner'][kind]['type'])};")
                elif kind == "assoc_const":
                    associated.append(f"const {member['name']}: {self.ty(member['inner'][kind]['type'])};")
            body = " { " + " ".join(sorted(associated)) + " }" if associated else ""
            emit(anchor, "impl",
                 f"{unsafe}impl{self.generics(impl['generics'], defaults=False)} {negative}{trait} for {for_type}"
                 f"{self.where_clause(impl['generics'])}{body}")

    def inherent(self, impl, for_type, anchor, emit):
        for member_id in impl["items"]:
            member = self.index.get(str(member_id))
            if member is None or member["visibility"] != "public":
                continue
            qualified = f"{for_type}::{member['name']}"
            kind = kind_of(member)
            m = member["inner"][kind]
            if kind == "function":
                # The impl's bounds belong to each method's signature: a
                # method of `impl<C: Bound> Session<C>` needs `C: Bound`.
                emit(anchor, "method",
                     self.function(member, qualified, outer_generics=bounds_as_where(impl["generics"])),
                     member["name"])
            elif kind == "assoc_const":
                emit(anchor, "associated",
                     f"{self.attributes(member)}pub const {qualified}: {self.ty(m['type'])}",
                     member["name"])
            elif kind == "assoc_type":
                emit(anchor, "associated", f"pub type {qualified} = {self.ty(m['type'])}",
                     member["name"])


def bounds_as_where(generics):
    """An impl's `<C: Bound>` as `where C: Bound`, so that a method line can
    carry it without an `impl<..>` prefix."""
    predicates = []
    for p in generics["params"]:
        (kind, v), = p["kind"].items()
        if kind == "type" and v["bounds"]:
            predicates.append({"bound_predicate": {"type": {"generic": p["name"]},
                                                   "bounds": v["bounds"], "generic_params": []}})
        elif kind == "lifetime" and v.get("outlives"):
            predicates.append({"lifetime_predicate": {"lifetime": p["name"], "outlives": v["outlives"]}})
    return {"params": [], "where_predicates": predicates + generics["where_predicates"]}


def published(metadata):
    """The workspace's published packages: (package, library target name,
    [(feature, is default)]), in the workspace's order."""
    members = set(metadata["workspace_members"])
    out = []
    for package in metadata["packages"]:
        if package["id"] not in members or package.get("publish") == []:
            continue
        library = next((t["name"] for t in package["targets"] if "lib" in t["kind"]), None)
        if library is None:
            continue
        default = set(package["features"].get("default", []))
        features = [(f, f in default) for f in sorted(package["features"]) if f != "default"]
        out.append((package["name"], library.replace("-", "_"), features))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["packages", "render"])
    parser.add_argument("--metadata", help="`cargo metadata --no-deps` output (else run it)")
    parser.add_argument("--doc-dir", help="where rustdoc wrote <crate>.json")
    parser.add_argument("--out", default="api", help="where the listings live")
    parser.add_argument("--check", action="store_true",
                        help="compare with the listings in --out instead of writing them")
    args = parser.parse_args()
    if args.metadata:
        with open(args.metadata) as f:
            metadata = json.load(f)
    else:
        metadata = json.loads(subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"],
            check=True, capture_output=True, text=True).stdout)
    packages = published(metadata)
    if args.command == "packages":
        print("\n".join(name for name, _, _ in packages))
        return 0

    crates = []
    for package, library, features in packages:
        with open(os.path.join(args.doc_dir, library + ".json")) as f:
            crates.append((package, Crate(json.load(f)), features))
    workspace = Workspace()
    for _, crate, _ in crates:
        workspace.learn(crate)

    differs = False
    expected_files = set()
    for package, crate, features in crates:
        header = [
            f"# The public API of {package}, with every feature; one line per item, sorted.",
            "# Generated by scripts/public-api.sh from rustdoc JSON: do not edit, rerun it.",
        ]
        text = "\n".join(header + crate.render(workspace, features)) + "\n"
        target = os.path.join(args.out, package + ".txt")
        expected_files.add(package + ".txt")
        if not args.check:
            os.makedirs(args.out, exist_ok=True)
            with open(target, "w") as f:
                f.write(text)
            continue
        try:
            with open(target) as f:
                committed = f.read()
        except FileNotFoundError:
            committed = ""
        if committed != text:
            differs = True
            sys.stdout.writelines(difflib.unified_diff(
                committed.splitlines(keepends=True), text.splitlines(keepends=True),
                fromfile=f"a/{target} (committed)", tofile=f"b/{target} (this tree)"))
    if args.check and os.path.isdir(args.out):
        for stale in sorted(set(os.listdir(args.out)) - expected_files):
            if stale.endswith(".txt"):
                differs = True
                print(f"{os.path.join(args.out, stale)}: no published crate of that name any more")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
